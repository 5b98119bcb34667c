// Go on a size x size board (5..19) with Tromp-Taylor rules: area scoring (stones plus empty regions that reach only
// one colour) with komi for white, captures, suicide illegal, positional superko (a move may not recreate any earlier
// position of the game, found by a Zobrist hash of the board kept for every position), a pass action, and the end
// after two passes in a row or after `max_moves` moves (passes included; 0 means 3 * size * size). Then the score
// decides: +1 to the winner, -1 to the loser, 0 to both on a tie (only possible with an integer komi).
//
// Against the scripted opponent (opponent = 0) a coin flip decides the agent's colour each game (black moves first).
// The scripted player captures when it can (a random capturing move), otherwise plays a random legal move that
// neither fills one of its own eyes (a point whose neighbours are all its stones or the edge) nor leaves the new
// stone's group with fewer than 2 liberties (estimated: adjacent empty points plus each joined group's liberties
// minus one), otherwise passes; and it passes as soon as the agent has passed while it leads on the area count.
// An illegal action (occupied point, suicide, superko) is played as a pass and counted in the `illegal` stat.
//
// With opponent = 1 (agent mode, "Two-player games" in ocean/README.md) rows 0 and 1 are the two sides (a coin flip
// gives row 0 black or white), one move per step by the side to move; the waiting row's mask is 0.
//
// The board is padded with an edge ring: cell (r, c) is index (r + 1) * (size + 2) + (c + 1), so the four
// neighbours of a point never need a bounds check.
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "puffer.h"

#define GO_MAX_SIZE 19
#define GO_MAX_CELLS ((GO_MAX_SIZE + 2) * (GO_MAX_SIZE + 2))
#define GO_EMPTY 0
#define GO_BLACK 1
#define GO_WHITE 2
#define GO_EDGE 3
#define GO_FILTER_WORDS 256  // a 16384-bit filter of the history's hashes: most superko look-ups stop here
#define FRAME_W 320
#define FRAME_H 320

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(draws)      /* games tied on the area count */ \
    X(illegal)    /* row 0's illegal actions (played as passes) per game */ \
    X(margin)     /* row 0's area minus the other side's, komi included, at the end */ \
    X(captures)   /* stones row 0 captured per game */ \
    X(black)      /* 1 when row 0 played black */
PUFFER_LOG(LOG_STATS)   // score: 1 for a win by row 0, 0 otherwise, so its mean is the win rate

typedef struct {
    PUFFER_ENV_FIELDS
    unsigned char* masks;     // agent mode: 1 for the row to move (AGENT_MASKS in vecenv.h)
    int opponent;             // parameter: 0 scripted, 1 agent (a second agent row)
    int size;                 // parameter: board side
    float komi;               // parameter: points added to white's area
    int max_moves;            // parameter: moves (passes included) before the game is scored; 0: 3 * size * size
    int width, points, limit; // derived: size + 2, size * size, the move cap in force
    uint64_t* history;        // hashes of every position of the game so far (limit + 1 entries allocated)
    // Game state (STATE in the binding)
    unsigned char board[GO_MAX_CELLS];
    uint64_t hash;            // Zobrist hash of board
    uint64_t filter[GO_FILTER_WORDS];   // bit (hash >> 50) set for each hash in history
    int history_len;
    int stones, peak;         // stones on the board now, and the most of any position in history
    int to_move;              // GO_BLACK or GO_WHITE
    int row0_color;           // the colour row 0 (the scripted mode's agent) plays
    int passes;               // consecutive passes just played (0 or 1 between steps)
    int moves;                // moves this game, passes included
    int steps;                // c_step calls this game
    int captured;             // stones row 0 captured this game
    int illegal;              // row 0's illegal actions this game
    // Scratch: groups of the position whose hash is labels_hash (rebuilt when the board changed)
    int labels_valid;
    uint64_t labels_hash;
    short label[GO_MAX_CELLS];     // group of each stone
    short mark[GO_MAX_CELLS];      // liberty stamps while labelling; region marks while scoring
    short order[GO_MAX_CELLS];     // stones group by group
    short group_start[GO_MAX_CELLS], group_count[GO_MAX_CELLS], group_libs[GO_MAX_CELLS];
    uint64_t group_hash[GO_MAX_CELLS];
} Go;

static uint64_t go_zobrist[2][GO_MAX_CELLS];
static int go_zobrist_ready = 0;

static void go_init_zobrist(void) {
    if (go_zobrist_ready) return;
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    for (int c = 0; c < 2; c++)
        for (int p = 0; p < GO_MAX_CELLS; p++) go_zobrist[c][p] = rng_next(&state);
    go_zobrist_ready = 1;
}

static inline int go_cell(const Go* env, int action) {
    return (action / env->size + 1) * env->width + action % env->size + 1;
}

// Groups of the current board: label, stones (in order), distinct liberties and hash of each.
static void go_label(Go* env) {
    const int w = env->width, s = env->size;
    const int offsets[4] = {1, -1, w, -w};
    int groups = 0, top = 0;
    for (int r = 1; r <= s; r++) {
        for (int c = 1; c <= s; c++) {
            env->label[r * w + c] = -1;
            env->mark[r * w + c] = 0;
        }
    }
    for (int r = 1; r <= s; r++) {
        for (int c = 1; c <= s; c++) {
            int p = r * w + c, color = env->board[p];
            if (color == GO_EMPTY || env->label[p] >= 0) continue;
            int g = groups++, libs = 0;
            uint64_t hash = 0;
            env->group_start[g] = (short)top;
            env->label[p] = (short)g;
            env->order[top++] = (short)p;
            for (int k = env->group_start[g]; k < top; k++) {
                int q = env->order[k];
                hash ^= go_zobrist[color - 1][q];
                for (int d = 0; d < 4; d++) {
                    int n = q + offsets[d], b = env->board[n];
                    if (b == GO_EMPTY) {
                        if (env->mark[n] != g + 1) {
                            env->mark[n] = (short)(g + 1);
                            libs++;
                        }
                    } else if (b == color && env->label[n] < 0) {
                        env->label[n] = (short)g;
                        env->order[top++] = (short)n;
                    }
                }
            }
            env->group_count[g] = (short)(top - env->group_start[g]);
            env->group_libs[g] = (short)libs;
            env->group_hash[g] = hash;
        }
    }
    env->labels_valid = 1;
    env->labels_hash = env->hash;
}

static inline void go_ensure_labels(Go* env) {
    if (!env->labels_valid || env->labels_hash != env->hash) go_label(env);
}

static inline int go_filter_has(const uint64_t* filter, uint64_t hash) {
    int bit = (int)(hash >> 50);
    return (int)((filter[bit >> 6] >> (bit & 63)) & 1);
}

static inline void go_filter_add(uint64_t* filter, uint64_t hash) {
    int bit = (int)(hash >> 50);
    filter[bit >> 6] |= 1ULL << (bit & 63);
}

static int go_seen(const Go* env, uint64_t hash) {
    if (!go_filter_has(env->filter, hash)) return 0;
    for (int i = 0; i < env->history_len; i++)
        if (env->history[i] == hash) return 1;
    return 0;
}

// Whether `color` may play the empty point p (labels current): not suicide, not a repeat of an earlier position.
static int go_legal(const Go* env, int p, int color) {
    const int w = env->width;
    const int offsets[4] = {1, -1, w, -w};
    int breathes = 0, other = 3 - color;
    uint64_t hash = env->hash ^ go_zobrist[color - 1][p];
    int taken[4], count = 0, removed = 0;
    for (int d = 0; d < 4; d++) {
        int n = p + offsets[d], b = env->board[n];
        if (b == GO_EMPTY) {
            breathes = 1;
        } else if (b == color) {
            if (env->group_libs[env->label[n]] > 1) breathes = 1;
        } else if (b == other) {
            int g = env->label[n];
            if (env->group_libs[g] != 1) continue;
            int seen = 0;
            for (int k = 0; k < count; k++) seen |= taken[k] == g;
            if (seen) continue;
            taken[count++] = g;
            removed += env->group_count[g];
            hash ^= env->group_hash[g];
            breathes = 1;
        }
    }
    // A position with more stones than any earlier one is new: most moves skip the history look-up.
    return breathes && (env->stones + 1 - removed > env->peak || !go_seen(env, hash));
}

// Plays a legal move (labels current): places the stone, removes the groups it takes, records the position.
static int go_place(Go* env, int p, int color) {
    const int w = env->width;
    const int offsets[4] = {1, -1, w, -w};
    int other = 3 - color, taken = 0;
    env->board[p] = (unsigned char)color;
    env->hash ^= go_zobrist[color - 1][p];
    for (int d = 0; d < 4; d++) {
        int n = p + offsets[d];
        if (env->board[n] != other) continue;
        int g = env->label[n];
        if (env->group_libs[g] != 1) continue;
        for (int k = env->group_start[g]; k < env->group_start[g] + env->group_count[g]; k++) {
            env->board[env->order[k]] = GO_EMPTY;
            env->hash ^= go_zobrist[other - 1][env->order[k]];
        }
        taken += env->group_count[g];
    }
    env->stones += 1 - taken;
    if (env->stones > env->peak) env->peak = env->stones;
    if (env->history_len < env->limit + 1) {
        env->history[env->history_len++] = env->hash;
        go_filter_add(env->filter, env->hash);
    }
    return taken;
}

// Tromp-Taylor areas: each side's stones plus the empty regions that reach only its stones.
static void go_areas(Go* env, int* black_area, int* white_area) {
    const int w = env->width, s = env->size;
    const int offsets[4] = {1, -1, w, -w};
    int black = 0, white = 0;
    for (int r = 1; r <= s; r++)
        for (int c = 1; c <= s; c++) env->mark[r * w + c] = 0;
    env->labels_valid = 0;   // mark is shared with the labelling
    for (int r = 1; r <= s; r++) {
        for (int c = 1; c <= s; c++) {
            int p = r * w + c, b = env->board[p];
            if (b == GO_BLACK) black++;
            else if (b == GO_WHITE) white++;
            if (b != GO_EMPTY || env->mark[p]) continue;
            int top = 0, reach = 0;
            env->order[top++] = (short)p;
            env->mark[p] = 1;
            for (int k = 0; k < top; k++) {
                int q = env->order[k];
                for (int d = 0; d < 4; d++) {
                    int n = q + offsets[d], nb = env->board[n];
                    if (nb == GO_EMPTY && !env->mark[n]) {
                        env->mark[n] = 1;
                        env->order[top++] = (short)n;
                    } else if (nb == GO_BLACK || nb == GO_WHITE) {
                        reach |= nb;
                    }
                }
            }
            if (reach == GO_BLACK) black += top;
            else if (reach == GO_WHITE) white += top;
        }
    }
    *black_area = black;
    *white_area = white;
}

// Black's area minus white's, komi included (positive: black leads).
static float go_black_margin(Go* env) {
    int black, white;
    go_areas(env, &black, &white);
    return (float)(black - white) - env->komi;
}

static inline float go_margin_for(Go* env, int color) {
    float m = go_black_margin(env);
    return color == GO_BLACK ? m : -m;
}

// The scripted player's move for the side to move (labels current): a cell, or -1 to pass.
static int go_scripted_move(Go* env) {
    const int w = env->width, s = env->size;
    const int offsets[4] = {1, -1, w, -w};
    int color = env->to_move, other = 3 - color;
    if (env->passes == 1) {
        if (go_margin_for(env, color) > 0.0f) return -1;
        go_ensure_labels(env);
    }
    // Captures: the last liberty of each of the opponent's groups in atari (found from the labelling).
    short capture[GO_MAX_SIZE * GO_MAX_SIZE], empty[GO_MAX_SIZE * GO_MAX_SIZE];
    int n_capture = 0, n_empty = 0;
    for (int r = 1; r <= s; r++) {
        for (int c = 1; c <= s; c++) {
            int p = r * w + c, b = env->board[p];
            if (b == GO_EMPTY) {
                empty[n_empty++] = (short)p;
                continue;
            }
            int g = env->label[p];
            if (b != other || env->group_libs[g] != 1 || env->order[env->group_start[g]] != p) continue;
            int liberty = -1;   // the group's first stone is p: find its one liberty once per group
            for (int k = env->group_start[g]; k < env->group_start[g] + env->group_count[g] && liberty < 0; k++)
                for (int d = 0; d < 4; d++)
                    if (env->board[env->order[k] + offsets[d]] == GO_EMPTY) liberty = env->order[k] + offsets[d];
            int known = 0;
            for (int k = 0; k < n_capture; k++) known |= capture[k] == liberty;
            if (liberty >= 0 && !known && go_legal(env, liberty, color)) capture[n_capture++] = (short)liberty;
        }
    }
    if (n_capture) return capture[rng_int(&env->rng, n_capture)];
    // Otherwise a uniform pick among the acceptable empty points: draw one, drop it if it is not acceptable.
    while (n_empty > 0) {
        int k = rng_int(&env->rng, n_empty), p = empty[k];
        int own_eye = 1, libs = 0;
        for (int d = 0; d < 4; d++) {
            int n = p + offsets[d], b = env->board[n];
            if (b == GO_EMPTY) {
                libs++;
                own_eye = 0;
            } else if (b == color) {
                libs += env->group_libs[env->label[n]] - 1;
            } else if (b == other) {
                own_eye = 0;
            }
        }
        if (!own_eye && libs >= 2 && go_legal(env, p, color)) return p;
        empty[k] = empty[--n_empty];
    }
    return -1;
}

// Plays one move (cell, or -1 for a pass) for the side to move; 1 when the game is over.
static int go_turn(Go* env, int cell) {
    int color = env->to_move;
    if (cell < 0) {
        env->passes++;
    } else {
        int taken = go_place(env, cell, color);
        if (color == env->row0_color) env->captured += taken;
        env->passes = 0;
    }
    env->moves++;
    env->to_move = 3 - color;
    return env->passes >= 2 || env->moves >= env->limit;
}

// The row's observation: its stones, the other side's, its legal points (when it is to move), then 1 if it plays
// black and 1 if the last move was a pass. Its action-mask row too (the waiting row: only the pass).
static void go_write_row(Go* env, int row, int color, int mover) {
    const int w = env->width, s = env->size, n = env->points;
    float* obs = env->observations + (size_t)row * (3 * n + 2);
    unsigned char* mask = env->action_mask ? env->action_mask + (size_t)row * (n + 1) : NULL;
    int i = 0;
    for (int r = 1; r <= s; r++) {
        for (int c = 1; c <= s; c++, i++) {
            int p = r * w + c, b = env->board[p];
            int legal = mover && b == GO_EMPTY && go_legal(env, p, color);
            obs[i] = (float)(b == color);
            obs[n + i] = (float)(b == 3 - color);
            obs[2 * n + i] = (float)legal;
            if (mask) mask[i] = (unsigned char)legal;
        }
    }
    if (mask) mask[n] = 1;
    obs[3 * n] = (float)(color == GO_BLACK);
    obs[3 * n + 1] = (float)(env->passes > 0);
}

static void go_write(Go* env) {
    go_ensure_labels(env);
    if (env->opponent) {
        int row0_moves = env->to_move == env->row0_color;
        go_write_row(env, 0, env->row0_color, row0_moves);
        go_write_row(env, 1, 3 - env->row0_color, !row0_moves);
        env->masks[0] = (unsigned char)row0_moves;
        env->masks[1] = (unsigned char)!row0_moves;
    } else {
        go_write_row(env, 0, env->row0_color, 1);
    }
}

// Empties the board and starts a game; the scripted opponent opens when it has black.
static void go_new_game(Go* env) {
    const int w = env->width;
    memset(env->board, GO_EDGE, (size_t)w * w);
    memset(env->board + w * w, 0, sizeof(env->board) - (size_t)w * w);
    for (int r = 1; r <= env->size; r++) memset(env->board + r * w + 1, GO_EMPTY, (size_t)env->size);
    env->hash = 0;
    memset(env->filter, 0, sizeof(env->filter));
    env->history[0] = 0;
    env->history_len = 1;
    env->stones = env->peak = 0;
    go_filter_add(env->filter, 0);
    env->to_move = GO_BLACK;
    env->row0_color = rng_int(&env->rng, 2) ? GO_WHITE : GO_BLACK;
    env->passes = env->moves = env->steps = env->captured = env->illegal = 0;
    env->labels_valid = 0;
    if (!env->opponent && env->row0_color == GO_WHITE) {
        go_label(env);
        go_turn(env, go_scripted_move(env));
    }
}

int c_init(Go* env) {
    go_init_zobrist();
    env->width = env->size + 2;
    env->points = env->size * env->size;
    env->limit = env->max_moves > 0 ? env->max_moves : 3 * env->points;
    env->history = (uint64_t*)calloc((size_t)env->limit + 1, sizeof(uint64_t));
    if (env->history == NULL) return -1;
    if (!env->opponent) env->masks[0] = 1;
    env->labels_valid = 0;
    return 0;
}

void c_reset(Go* env) {
    go_new_game(env);
    go_write(env);
    for (int row = 0; row <= env->opponent; row++) {
        env->rewards[row] = 0.0f;
        env->terminals[row] = 0;
        env->truncations[row] = 0;
    }
}

// The mover's action as a cell, or -1 for a pass (also for an illegal point, which is counted).
static int go_action_cell(Go* env, int action) {
    if (action >= env->points) return -1;
    int p = go_cell(env, action);
    if (env->board[p] == GO_EMPTY && go_legal(env, p, env->to_move)) return p;
    if (env->to_move == env->row0_color) env->illegal++;
    return -1;
}

// Scores the finished game, pays both rows, logs it (row 0's view) and starts the next one.
static void go_finish(Go* env) {
    float margin = go_margin_for(env, env->row0_color);
    float reward = margin > 0.0f ? 1.0f : margin < 0.0f ? -1.0f : 0.0f;
    env->rewards[0] = reward;
    env->terminals[0] = 1;
    if (env->opponent) {
        env->rewards[1] = 0.0f - reward;
        env->terminals[1] = 1;
    }
    env->log.score += reward > 0.0f ? 1.0f : 0.0f;
    env->log.episode_return += reward;
    env->log.episode_length += (float)env->steps;
    env->log.draws += (float)(reward == 0.0f);
    env->log.illegal += (float)env->illegal;
    env->log.margin += margin;
    env->log.captures += (float)env->captured;
    env->log.black += (float)(env->row0_color == GO_BLACK);
    env->log.n += 1.0f;
    go_new_game(env);
}

void c_step(Go* env) {
    go_ensure_labels(env);
    env->steps++;
    for (int row = 0; row <= env->opponent; row++) {
        env->rewards[row] = 0.0f;
        env->terminals[row] = 0;
        env->truncations[row] = 0;
    }
    int over;
    if (env->opponent) {
        int row = env->to_move == env->row0_color ? 0 : 1;
        over = go_turn(env, go_action_cell(env, env->actions[row]));
    } else {
        over = go_turn(env, go_action_cell(env, env->actions[0]));
        if (!over) {
            go_ensure_labels(env);
            over = go_turn(env, go_scripted_move(env));
        }
    }
    if (over) go_finish(env);
    go_write(env);
}

void c_render(Go* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    const Color wood = {220, 179, 92};
    draw_clear(canvas, wood);
    int s = env->size, cell = FRAME_W / (s + 1), margin = (FRAME_W - cell * (s - 1)) / 2;
    for (int i = 0; i < s; i++) {
        int at = margin + i * cell;
        draw_line(canvas, margin, at, margin + (s - 1) * cell, at, COLOR_BLACK);
        draw_line(canvas, at, margin, at, margin + (s - 1) * cell, COLOR_BLACK);
    }
    for (int r = 0; r < s; r++) {
        for (int c = 0; c < s; c++) {
            int b = env->board[(r + 1) * env->width + c + 1];
            if (b != GO_BLACK && b != GO_WHITE) continue;
            draw_circle(canvas, margin + c * cell, margin + r * cell, cell / 2 - 1,
                        b == GO_BLACK ? COLOR_BLACK : COLOR_WHITE);
        }
    }
}

// Text picture: 'X' black, 'O' white, '.' empty, top row first; then whose move it is and row 0's colour.
int c_render_text(Go* env, char* buffer, int size) {
    int length = 0;
    for (int r = 1; r <= env->size; r++) {
        char line[GO_MAX_SIZE + 1];
        for (int c = 1; c <= env->size; c++) {
            int b = env->board[r * env->width + c];
            line[c - 1] = b == GO_BLACK ? 'X' : b == GO_WHITE ? 'O' : '.';
        }
        line[env->size] = '\0';
        text_append(buffer, size, &length, "%s\n", line);
    }
    text_append(buffer, size, &length, "to move: %s, row 0: %s\n", env->to_move == GO_BLACK ? "X" : "O",
                env->row0_color == GO_BLACK ? "X" : "O");
    return length;
}

void c_close(Go* env) {
    free(env->history);
    env->history = NULL;
}
