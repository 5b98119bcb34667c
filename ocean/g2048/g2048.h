// 2048: slide the tiles of a 4x4 board; two equal tiles that meet merge into their sum, and after every move
// that changes the board a new tile appears (a 2, or a 4 one time in ten). The game ends when no move is possible.
//
// Tiles are stored as exponents (1 = 2, 2 = 4, ..., 0 = empty). On a 4x4 board no tile can exceed 2^17, so 18
// exponent values cover every reachable board. The observation is one-hot: 18 bytes per cell, 16 cells.
//
// Reward per merge is log2(new tile) / 11, so building a 2048 tile is worth 1; `score` is the usual game score
// (the sum of all merged tile values). A move that changes nothing is a no-op with reward 0.
#pragma once
#include <stdio.h>
#include <string.h>
#include "puffer.h"

#define G2048_SIDE 4
#define G2048_CELLS 16
#define G2048_VALUES 18
#define G2048_OBS_SIZE (G2048_CELLS * G2048_VALUES)
#define G2048_NUM_ACTIONS 4   // 0 up, 1 down, 2 left, 3 right
#define G2048_CELL_PIXELS 48
#define FRAME_W (G2048_SIDE * G2048_CELL_PIXELS)
#define FRAME_H (G2048_SIDE * G2048_CELL_PIXELS)

#define OBS_TYPE unsigned char
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(max_tile) /* value of the largest tile at the end of the game */
PUFFER_LOG(LOG_STATS)   // score: the game score, the sum of the values of all merged tiles

typedef struct {
    PUFFER_ENV_FIELDS
    int max_steps;
    unsigned char board[G2048_CELLS];   // exponents, row-major from the top-left
    int score;
    int steps;
    float episode_return;
} G2048;

// For each direction, the 4 lines of cells, each listed from the edge the tiles slide toward.
static const unsigned char G2048_LINES[G2048_NUM_ACTIONS][4][4] = {
    {{0, 4, 8, 12}, {1, 5, 9, 13}, {2, 6, 10, 14}, {3, 7, 11, 15}},   // up
    {{12, 8, 4, 0}, {13, 9, 5, 1}, {14, 10, 6, 2}, {15, 11, 7, 3}},   // down
    {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}, {12, 13, 14, 15}},   // left
    {{3, 2, 1, 0}, {7, 6, 5, 4}, {11, 10, 9, 8}, {15, 14, 13, 12}},   // right
};

// Slides and merges one line toward its first cell; each tile merges at most once per move. Two tiles of the
// largest exponent never merge: no reachable board has two, but a board set by hand may, and their sum has no
// observation slot.
// Returns 1 if the line changed; adds merged values to *score and their exponents to *exponents.
static int g2048_slide_line(unsigned char* board, const unsigned char* line, int* score, int* exponents) {
    unsigned char out[4] = {0, 0, 0, 0};
    int count = 0, can_merge = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char e = board[line[i]];
        if (e == 0) continue;
        if (can_merge && out[count - 1] == e && e < G2048_VALUES - 1) {
            out[count - 1] = (unsigned char)(e + 1);
            *score += 1 << (e + 1);
            *exponents += e + 1;
            can_merge = 0;
        } else {
            out[count++] = e;
            can_merge = 1;
        }
    }
    int changed = 0;
    for (int i = 0; i < 4; i++) {
        changed |= board[line[i]] != out[i];
        board[line[i]] = out[i];
    }
    return changed;
}

static void g2048_spawn_tile(G2048* env) {
    int empty[G2048_CELLS], count = 0;
    for (int i = 0; i < G2048_CELLS; i++) {
        if (env->board[i] == 0) empty[count++] = i;
    }
    if (count == 0) return;
    int cell = empty[rng_int(&env->rng, count)];
    env->board[cell] = rng_int(&env->rng, 10) == 0 ? 2 : 1;
}

static int g2048_can_move(const G2048* env) {
    for (int i = 0; i < G2048_CELLS; i++) {
        unsigned char e = env->board[i];
        if (e == 0) return 1;
        if (i % G2048_SIDE < G2048_SIDE - 1 && env->board[i + 1] == e) return 1;
        if (i + G2048_SIDE < G2048_CELLS && env->board[i + G2048_SIDE] == e) return 1;
    }
    return 0;
}

static void g2048_write_obs(G2048* env) {
    memset(env->observations, 0, G2048_OBS_SIZE);
    for (int i = 0; i < G2048_CELLS; i++) env->observations[i * G2048_VALUES + env->board[i]] = 1;
}

static void g2048_new_game(G2048* env) {
    memset(env->board, 0, sizeof(env->board));
    env->score = 0;
    env->steps = 0;
    env->episode_return = 0.0f;
    g2048_spawn_tile(env);
    g2048_spawn_tile(env);
}

int c_init(G2048* env) {
    (void)env;   // nothing to allocate
    return 0;
}

void c_reset(G2048* env) {
    g2048_new_game(env);
    g2048_write_obs(env);
    env->rewards[0] = 0.0f;
    env->terminals[0] = 0;
    env->truncations[0] = 0;
}

void c_step(G2048* env) {
    int action = env->actions[0];
    int changed = 0, exponents = 0;
    for (int l = 0; l < 4; l++) {
        changed |= g2048_slide_line(env->board, G2048_LINES[action][l], &env->score, &exponents);
    }
    if (changed) g2048_spawn_tile(env);
    env->steps++;
    float reward = (float)exponents / 11.0f;
    env->rewards[0] = reward;
    env->episode_return += reward;
    int over = !g2048_can_move(env);
    int truncated = !over && env->steps >= env->max_steps;
    env->terminals[0] = (unsigned char)over;
    env->truncations[0] = (unsigned char)truncated;
    if (over || truncated) {
        int top = 0;
        for (int i = 0; i < G2048_CELLS; i++) top = env->board[i] > top ? env->board[i] : top;
        env->log.score += (float)env->score;
        env->log.episode_return += env->episode_return;
        env->log.episode_length += (float)env->steps;
        env->log.max_tile += (float)(1 << top);
        env->log.n += 1.0f;
        g2048_new_game(env);
    }
    g2048_write_obs(env);
}

void c_render(G2048* env, unsigned char* frame) {
    const int cell = G2048_CELL_PIXELS;
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, (Color){120, 110, 100});
    for (int i = 0; i < G2048_CELLS; i++) {
        int e = env->board[i];
        int x = (i % G2048_SIDE) * cell, y = (i / G2048_SIDE) * cell;
        // Warmer as the tile grows.
        Color color = e ? (Color){(unsigned char)(200 + 3 * e), (unsigned char)(190 - 9 * e),
                                  (unsigned char)(150 - 8 * e)}
                        : (Color){160, 150, 140};
        draw_rect(canvas, x + 3, y + 3, cell - 6, cell - 6, color);
        if (e) {
            char text[8];
            int digits = snprintf(text, sizeof text, "%d", 1 << e);
            int scale = digits <= 4 ? 2 : 1;
            draw_text(canvas, x + (cell - 4 * scale * digits) / 2, y + cell / 2 - 5, text, scale, COLOR_BLACK);
        }
    }
}

// Text picture: tile values in a 4x4 grid, '.' for empty cells.
int c_render_text(G2048* env, char* buffer, int size) {
    int length = 0;
    text_append(buffer, size, &length, "score %d\n", env->score);
    for (int i = 0; i < G2048_CELLS; i++) {
        int e = env->board[i];
        if (e) text_append(buffer, size, &length, "%7d", 1 << e);
        else text_append(buffer, size, &length, "%7s", ".");
        if (i % G2048_SIDE == G2048_SIDE - 1) text_append(buffer, size, &length, "\n");
    }
    return length;
}

void c_close(G2048* env) {
    (void)env;
}
