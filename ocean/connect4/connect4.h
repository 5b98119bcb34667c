// Connect Four against a scripted opponent: it wins when it can, blocks when it must, and otherwise plays a
// random legal column. Who moves first is a coin flip each game.
//
// Boards are bitboards: column c, row r (0 = bottom) is bit 7*c + r; the 7th bit of each column stays empty, so
// shifting by 1 (vertical), 7 (horizontal), 6 and 8 (diagonals) never wraps a line across columns and a win test
// is four shift-and-mask operations.
//
// Rewards: +1 for a win, -1 for a loss or for playing into a full column (which ends the game), 0 for a draw.
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "puffer.h"

#define C4_COLS 7
#define C4_ROWS 6
#define C4_CELLS (C4_ROWS * C4_COLS)
#define C4_NUM_ACTIONS C4_COLS
#define C4_OBS_SIZE (2 * C4_CELLS)   // agent's stones plane, then opponent's, each row-major from the top row
#define C4_CELL_PIXELS 32
#define FRAME_W (C4_COLS * C4_CELL_PIXELS)
#define FRAME_H (C4_ROWS * C4_CELL_PIXELS)

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(draws)     /* games drawn */ \
    X(illegal)   /* games lost by playing into a full column */
PUFFER_LOG(LOG_STATS)   // score: 1 for a win, 0 otherwise, so its mean is the win rate

typedef struct {
    PUFFER_ENV_FIELDS
    uint64_t agent, opponent;   // bitboards of each side's stones
    int height[C4_COLS];         // bit index of the next free cell in each column
    int moves;                   // stones on the board
    int steps;
} Connect4;

static inline int c4_is_win(uint64_t board) {
    static const int shifts[4] = {1, 7, 6, 8};
    for (int d = 0; d < 4; d++) {
        uint64_t pairs = board & (board >> shifts[d]);
        if (pairs & (pairs >> (2 * shifts[d]))) return 1;
    }
    return 0;
}

static inline int c4_column_full(const Connect4* env, int col) {
    return env->height[col] == C4_COLS * col + C4_ROWS;
}

static inline uint64_t c4_move_bit(const Connect4* env, int col) {
    return 1ULL << env->height[col];
}

// Drops a stone for one side and mirrors it into that side's observation plane.
static void c4_play(Connect4* env, uint64_t* board, int plane, int col) {
    int row = env->height[col] - C4_COLS * col;
    *board |= c4_move_bit(env, col);
    env->height[col]++;
    env->moves++;
    env->observations[plane * C4_CELLS + (C4_ROWS - 1 - row) * C4_COLS + col] = 1.0f;
}

static int c4_opponent_column(Connect4* env) {
    for (int col = 0; col < C4_COLS; col++) {
        if (!c4_column_full(env, col) && c4_is_win(env->opponent | c4_move_bit(env, col))) return col;
    }
    for (int col = 0; col < C4_COLS; col++) {
        if (!c4_column_full(env, col) && c4_is_win(env->agent | c4_move_bit(env, col))) return col;
    }
    int legal[C4_COLS], count = 0;
    for (int col = 0; col < C4_COLS; col++) {
        if (!c4_column_full(env, col)) legal[count++] = col;
    }
    return legal[rng_int(&env->rng, count)];
}

static void c4_new_game(Connect4* env) {
    env->agent = env->opponent = 0;
    for (int col = 0; col < C4_COLS; col++) env->height[col] = C4_COLS * col;
    env->moves = 0;
    env->steps = 0;
    memset(env->observations, 0, C4_OBS_SIZE * sizeof(float));
    if (rng_int(&env->rng, 2)) c4_play(env, &env->opponent, 1, c4_opponent_column(env));
}

int c_init(Connect4* env) {
    (void)env;
    return 0;
}

void c_reset(Connect4* env) {
    c4_new_game(env);
    env->rewards[0] = 0.0f;
    env->terminals[0] = 0;
    env->truncations[0] = 0;
}

void c_step(Connect4* env) {
    int col = env->actions[0];
    env->steps++;
    float reward = 0.0f;
    int over = 1, illegal = 0, draw = 0;
    if (c4_column_full(env, col)) {
        reward = -1.0f;
        illegal = 1;
    } else {
        c4_play(env, &env->agent, 0, col);
        if (c4_is_win(env->agent)) {
            reward = 1.0f;
        } else if (env->moves == C4_CELLS) {
            draw = 1;
        } else {
            c4_play(env, &env->opponent, 1, c4_opponent_column(env));
            if (c4_is_win(env->opponent)) reward = -1.0f;
            else if (env->moves == C4_CELLS) draw = 1;
            else over = 0;
        }
    }
    env->rewards[0] = reward;
    env->terminals[0] = (unsigned char)over;
    env->truncations[0] = 0;
    if (over) {
        env->log.score += reward > 0.0f ? 1.0f : 0.0f;
        env->log.episode_return += reward;
        env->log.episode_length += (float)env->steps;
        env->log.draws += (float)draw;
        env->log.illegal += (float)illegal;
        env->log.n += 1.0f;
        c4_new_game(env);
    }
}

void c_render(Connect4* env, unsigned char* frame) {
    const int cell = C4_CELL_PIXELS;
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BLUE);
    for (int col = 0; col < C4_COLS; col++) {
        for (int row = 0; row < C4_ROWS; row++) {
            uint64_t bit = 1ULL << (C4_COLS * col + row);
            Color color = (env->agent & bit) ? COLOR_YELLOW : (env->opponent & bit) ? COLOR_RED : COLOR_BACKGROUND;
            draw_circle(canvas, col * cell + cell / 2, (C4_ROWS - 1 - row) * cell + cell / 2, cell / 2 - 3, color);
        }
    }
}

// Text picture: 'X' agent, 'O' opponent, '.' empty; column numbers underneath.
int c_render_text(Connect4* env, char* buffer, int size) {
    int length = 0;
    for (int row = C4_ROWS - 1; row >= 0; row--) {
        char line[C4_COLS + 1];
        for (int col = 0; col < C4_COLS; col++) {
            uint64_t bit = 1ULL << (C4_COLS * col + row);
            line[col] = (env->agent & bit) ? 'X' : (env->opponent & bit) ? 'O' : '.';
        }
        line[C4_COLS] = '\0';
        text_append(buffer, size, &length, "%s\n", line);
    }
    text_append(buffer, size, &length, "0123456\n");
    return length;
}

void c_close(Connect4* env) {
    (void)env;
}
