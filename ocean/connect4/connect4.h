// Connect Four against a scripted opponent: it wins when it can, blocks when it must, and otherwise plays a
// random legal column. Who moves first is a coin flip each game.
//
// Boards are bitboards: column c, row r (0 = bottom) is bit 7*c + r; the 7th bit of each column stays empty, so
// shifting by 1 (vertical), 7 (horizontal), 6 and 8 (diagonals) never wraps a line across columns and a win test
// is four shift-and-mask operations.
//
// Rewards: +1 for a win, -1 for a loss or for playing into a full column (which ends the game), 0 for a draw.
//
// With opponent = 1 (agent mode, see "Two-player games" in ocean/README.md) the scripted player is replaced by a
// second agent row: row 0 plays the 'X' stones, row 1 the 'O' stones, each sees its own stones in the first plane,
// one stone is dropped per step by the side to move (a coin flip decides who opens), the waiting row's mask is 0
// and its action is ignored, and rewards are zero-sum: the winner +1, the loser -1 on the step the game ends.
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
    unsigned char* masks;        // agent mode: 1 for the row to move (AGENT_MASKS in vecenv.h)
    int opponent;                // parameter: 0 scripted, 1 agent (a second agent row)
    int random_opening;          // parameter: each game starts after up to this many random moves (0: none)
    uint64_t agent, other;       // bitboards of each side's stones: row 0's ('X') and the opponent's ('O')
    int to_move;                 // agent mode: the side whose stone is dropped next (0 or 1)
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

// Legal-action mask (ACTION_MASK in the binding): a column is legal while it is not full. NULL: no mask asked for.
static void c4_write_mask(Connect4* env) {
    if (env->action_mask == NULL) return;
    for (int row = 0; row <= env->opponent; row++)   // both rows in agent mode
        for (int col = 0; col < C4_COLS; col++)
            env->action_mask[row * C4_COLS + col] = (unsigned char)!c4_column_full(env, col);
}

static inline uint64_t c4_move_bit(const Connect4* env, int col) {
    return 1ULL << env->height[col];
}

// Drops a stone for one side and marks it in that side's observation plane (0: row 0's stones), and in agent mode
// in the opposite plane of row 1, which sees the board from its own side.
static void c4_play(Connect4* env, uint64_t* board, int plane, int col) {
    int row = env->height[col] - C4_COLS * col;
    *board |= c4_move_bit(env, col);
    env->height[col]++;
    env->moves++;
    int cell = (C4_ROWS - 1 - row) * C4_COLS + col;
    env->observations[plane * C4_CELLS + cell] = 1.0f;
    if (env->opponent) env->observations[C4_OBS_SIZE + (1 - plane) * C4_CELLS + cell] = 1.0f;
}

static int c4_opponent_column(Connect4* env) {
    for (int col = 0; col < C4_COLS; col++) {
        if (!c4_column_full(env, col) && c4_is_win(env->other | c4_move_bit(env, col))) return col;
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

static void c4_set_masks(Connect4* env) {
    env->masks[0] = (unsigned char)(env->to_move == 0);
    env->masks[1] = (unsigned char)(env->to_move == 1);
}

// Up to `count` random legal moves for alternating sides, `side` first, none of them completing four (so a game is
// left to play, often with a four to complete or block); the side to move after them.
static int c4_random_moves(Connect4* env, int side, int count) {
    for (int i = 0; i < count; i++) {
        uint64_t mine = side ? env->other : env->agent;
        int legal[C4_COLS], n = 0;
        for (int col = 0; col < C4_COLS; col++) {
            if (!c4_column_full(env, col) && !c4_is_win(mine | c4_move_bit(env, col))) legal[n++] = col;
        }
        if (n == 0) break;
        c4_play(env, side ? &env->other : &env->agent, side, legal[rng_int(&env->rng, n)]);
        side = 1 - side;
    }
    return side;
}

static void c4_new_game(Connect4* env) {
    env->agent = env->other = 0;
    for (int col = 0; col < C4_COLS; col++) env->height[col] = C4_COLS * col;
    env->moves = 0;
    env->steps = 0;
    memset(env->observations, 0, (size_t)(1 + env->opponent) * C4_OBS_SIZE * sizeof(float));
    int first = rng_int(&env->rng, 2);   // agent mode: the side to move; scripted mode: 1 if the scripted one opens
    // random_opening = 0 draws nothing more, so those games are the ones they always were
    int opening = env->random_opening > 0 ? rng_int(&env->rng, env->random_opening + 1) : 0;
    if (env->opponent) {
        env->to_move = c4_random_moves(env, first, opening);
        c4_set_masks(env);
        return;
    }
    if (opening > 0) {   // the opening ends with the agent to move: the scripted player never starts with a win
        if (c4_random_moves(env, first, opening) == 1) c4_random_moves(env, 1, 1);
    } else if (first) {
        c4_play(env, &env->other, 1, c4_opponent_column(env));
    }
}

int c_init(Connect4* env) {
    if (!env->opponent) env->masks[0] = 1;
    return 0;
}

void c_reset(Connect4* env) {
    c4_new_game(env);
    c4_write_mask(env);
}  // the binding has already cleared rewards, terminals and truncations (vec_reset)

// Agent mode: the side to move drops its stone; the game's end pays +1 / -1 to the two rows (0 to both on a draw).
static void c4_step_agents(Connect4* env) {
    int side = env->to_move, col = env->actions[side];
    env->steps++;
    float reward = 0.0f;   // for the side that moved
    int over = 1, illegal = 0, draw = 0;
    if (c4_column_full(env, col)) {
        reward = -1.0f;
        illegal = 1;
    } else {
        c4_play(env, side ? &env->other : &env->agent, side, col);
        if (c4_is_win(side ? env->other : env->agent)) reward = 1.0f;
        else if (env->moves == C4_CELLS) draw = 1;
        else over = 0;
    }
    env->rewards[side] = reward;
    env->rewards[1 - side] = 0.0f - reward;   // +0.0 on a draw, not -0.0
    env->terminals[0] = env->terminals[1] = (unsigned char)over;
    env->truncations[0] = env->truncations[1] = 0;
    if (over) {
        float row0 = side == 0 ? reward : -reward;   // the log follows row 0
        env->log.score += row0 > 0.0f ? 1.0f : 0.0f;
        env->log.episode_return += row0;
        env->log.episode_length += (float)env->steps;
        env->log.draws += (float)draw;
        env->log.illegal += (float)illegal;
        env->log.n += 1.0f;
        c4_new_game(env);
    } else {
        env->to_move = 1 - side;
        c4_set_masks(env);
    }
    c4_write_mask(env);
}

void c_step(Connect4* env) {
    if (env->opponent) {
        c4_step_agents(env);
        return;
    }
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
            c4_play(env, &env->other, 1, c4_opponent_column(env));
            if (c4_is_win(env->other)) reward = -1.0f;
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
    c4_write_mask(env);
}

void c_render(Connect4* env, unsigned char* frame) {
    const int cell = C4_CELL_PIXELS;
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BLUE);
    for (int col = 0; col < C4_COLS; col++) {
        for (int row = 0; row < C4_ROWS; row++) {
            uint64_t bit = 1ULL << (C4_COLS * col + row);
            Color color = (env->agent & bit) ? COLOR_YELLOW : (env->other & bit) ? COLOR_RED : COLOR_BACKGROUND;
            draw_circle(canvas, col * cell + cell / 2, (C4_ROWS - 1 - row) * cell + cell / 2, cell / 2 - 3, color);
        }
    }
}

// Text picture: 'X' agent (row 0), 'O' opponent, '.' empty; column numbers underneath.
int c_render_text(Connect4* env, char* buffer, int size) {
    int length = 0;
    for (int row = C4_ROWS - 1; row >= 0; row--) {
        char line[C4_COLS + 1];
        for (int col = 0; col < C4_COLS; col++) {
            uint64_t bit = 1ULL << (C4_COLS * col + row);
            line[col] = (env->agent & bit) ? 'X' : (env->other & bit) ? 'O' : '.';
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
