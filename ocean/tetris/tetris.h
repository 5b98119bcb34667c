// Tetris on a 10x20 board. Pieces come from shuffled bags of all seven, fall one row every `fall_interval` agent
// steps, and lock when they cannot fall further; full rows are cleared. The game ends when a new piece has no
// room to appear. With `placement`, one action instead chooses where the whole piece goes (rotation and column)
// and drops it there: one step per piece, the usual action space for learning Tetris.
//
// Each board row is a bit mask with three always-set bits on each side (the walls) and the rows below the board
// are all set (the floor), so "does the piece fit here" is four AND operations and needs no bounds checks.
// Pieces are 4x4 masks per rotation (bit 4*row + col), rotating clockwise within their box.
//
// Reward on each lock: `reward_piece`, plus `reward_line` times 1, 3, 5 or 8 for clearing 1, 2, 3 or 4 rows at
// once, minus `reward_hole` per hole the lock adds (plus that much per hole it opens up again; a hole is an empty
// cell under a filled one in its column). Random play never clears a row, so the per-piece reward is what first
// teaches a policy to stay alive. The hole term is the change of a potential (-reward_hole * holes) that is paid
// back when the game is lost, so over a game it sums to zero: it only says sooner which placements make rows hard
// to clear. `score` is rows cleared.
//
// With `features`, the observation also describes the outcome of each of the 40 placement actions from the
// current state: rows it clears, then holes, summed column heights, bumpiness (summed height differences of
// neighbouring columns) and the tallest column of the board it leaves. These are the afterstate features that
// hand-built Tetris players weigh; with them a policy learns which placements are good instead of first having to
// learn to simulate the drop from the raw board.
#pragma once
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "puffer.h"

#define TETRIS_W 10
#define TETRIS_H 20
#define TETRIS_PAD 3                                   // wall bits on each side of a row
#define TETRIS_FLOOR_ROWS 4
#define TETRIS_FULL_ROW ((1u << (TETRIS_W + 2 * TETRIS_PAD + 1)) - 1u)   // also covers the 4-wide box at x = 9
#define TETRIS_EMPTY_ROW (TETRIS_FULL_ROW & ~(((1u << TETRIS_W) - 1u) << TETRIS_PAD))
#define TETRIS_PIECES 7
#define TETRIS_SPAWN_X 3
#define TETRIS_NUM_ACTIONS 6   // 0 noop, 1 left, 2 right, 3 rotate clockwise, 4 soft drop, 5 hard drop
#define TETRIS_CELLS (TETRIS_W * TETRIS_H)
#define TETRIS_OBS_SIZE (TETRIS_CELLS + 2 * TETRIS_PIECES + 1)
#define TETRIS_PLACEMENTS (4 * TETRIS_W)   // placement actions: rotation * TETRIS_W + leftmost column
#define TETRIS_FEATURES 5                  // per placement: rows cleared, holes, heights, bumpiness, tallest column
#define TETRIS_FEATURE_SIZE (TETRIS_PLACEMENTS * TETRIS_FEATURES)
#define TETRIS_CELL_PIXELS 12
#define FRAME_W (TETRIS_W * TETRIS_CELL_PIXELS)
#define FRAME_H (TETRIS_H * TETRIS_CELL_PIXELS)

enum { TETRIS_NOOP, TETRIS_LEFT, TETRIS_RIGHT, TETRIS_ROTATE, TETRIS_SOFT_DROP, TETRIS_HARD_DROP };

// I O T S Z J L, four clockwise rotations each.
static const uint16_t TETRIS_SHAPES[TETRIS_PIECES][4] = {
    {0x00F0, 0x4444, 0x0F00, 0x2222},
    {0x0066, 0x0066, 0x0066, 0x0066},
    {0x0072, 0x0262, 0x0270, 0x0232},
    {0x0036, 0x0462, 0x0360, 0x0231},
    {0x0063, 0x0264, 0x0630, 0x0132},
    {0x0071, 0x0226, 0x0470, 0x0322},
    {0x0074, 0x0622, 0x0170, 0x0223},
};
static const float TETRIS_LINE_REWARDS[5] = {0.0f, 1.0f, 3.0f, 5.0f, 8.0f};   // times reward_line
static const int TETRIS_KICKS[5] = {0, -1, 1, -2, 2};   // sideways shifts tried when a rotation is blocked

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(pieces) /* pieces locked */
PUFFER_LOG(LOG_STATS)   // score: rows cleared

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: board (0 empty, 1 locked, 0.5 falling piece), current piece, next piece, fall timer
    // parameters
    int placement;         // 1: each action places a whole piece (rotation and column), which then drops
    int fall_interval;     // agent steps per automatic one-row fall
    int max_steps;
    float reward_piece;    // reward per locked piece (staying alive)
    float reward_line;     // reward per cleared row (x1, x3, x5, x8 for 1-4 rows at once)
    float reward_hole;     // penalty per hole a lock adds
    int features;          // 1: append the outcome of every placement to the observation
    int mask_actions;      // 1: write the legal-action mask (tetris_write_mask)
    // state
    uint32_t rows[TETRIS_H + TETRIS_FLOOR_ROWS];   // top row first
    int piece, rotation, x, y;   // falling piece; (x, y) is its box's top-left cell
    int next_piece;
    unsigned char bag[TETRIS_PIECES];
    int bag_used;
    int fall_timer;
    int lines, pieces, steps;
    int holes;             // on the board after the last lock
    float episode_return;
} Tetris;

static inline int tetris_fits(const Tetris* env, int piece, int rotation, int x, int y) {
    if (x < -TETRIS_PAD) return 0;   // a kick can push the box further left than the wall bits reach
    uint16_t shape = TETRIS_SHAPES[piece][rotation];
    for (int r = 0; r < 4; r++) {
        uint32_t nibble = (shape >> (4 * r)) & 0xFu;
        if (nibble && (env->rows[y + r] & (nibble << (x + TETRIS_PAD)))) return 0;
    }
    return 1;
}

// Writes `value` into the observation cells covered by the falling piece.
static void tetris_draw_piece(Tetris* env, float value) {
    uint16_t shape = TETRIS_SHAPES[env->piece][env->rotation];
    while (shape) {
        int bit = __builtin_ctz(shape);
        shape &= shape - 1;
        env->observations[(env->y + bit / 4) * TETRIS_W + env->x + bit % 4] = value;
    }
}

// Empty cells with a filled cell somewhere above them in their column.
static int tetris_count_holes(const Tetris* env) {
    const uint32_t board = ((1u << TETRIS_W) - 1u) << TETRIS_PAD;
    uint32_t covered = 0;
    int holes = 0;
    for (int row = 0; row < TETRIS_H; row++) {
        uint32_t filled = env->rows[row] & board;
        holes += __builtin_popcount(covered & ~filled);
        covered |= filled;
    }
    return holes;
}

static void tetris_write_board(Tetris* env) {
    for (int row = 0; row < TETRIS_H; row++) {
        uint32_t bits = env->rows[row] >> TETRIS_PAD;
        for (int col = 0; col < TETRIS_W; col++) env->observations[row * TETRIS_W + col] = (float)((bits >> col) & 1u);
    }
}

static void tetris_write_pieces(Tetris* env) {
    float* pieces = env->observations + TETRIS_CELLS;
    memset(pieces, 0, 2 * TETRIS_PIECES * sizeof(float));
    pieces[env->piece] = 1.0f;
    pieces[TETRIS_PIECES + env->next_piece] = 1.0f;
}

static int tetris_draw_from_bag(Tetris* env) {
    if (env->bag_used == TETRIS_PIECES) {
        for (int i = TETRIS_PIECES - 1; i > 0; i--) {
            int j = rng_int(&env->rng, i + 1);
            unsigned char t = env->bag[i];
            env->bag[i] = env->bag[j];
            env->bag[j] = t;
        }
        env->bag_used = 0;
    }
    return env->bag[env->bag_used++];
}

// Brings in the next piece; returns 0 when it does not fit (game over).
static int tetris_spawn(Tetris* env) {
    env->piece = env->next_piece;
    env->next_piece = tetris_draw_from_bag(env);
    env->rotation = 0;
    env->x = TETRIS_SPAWN_X;
    env->y = 0;
    env->fall_timer = 0;
    return tetris_fits(env, env->piece, 0, env->x, env->y);
}

// Locks the piece, clears full rows, rewrites the board observation. Returns the number of rows cleared.
// Writes a piece into board rows at box position (x, y) and clears the full rows; returns how many.
static int tetris_lock_rows(uint32_t* rows, uint16_t shape, int x, int y) {
    for (int r = 0; r < 4; r++) rows[y + r] |= ((shape >> (4 * r)) & 0xFu) << (x + TETRIS_PAD);
    int cleared = 0;
    for (int row = TETRIS_H - 1; row >= 0; row--) {
        if (rows[row] == TETRIS_FULL_ROW) {
            cleared++;
        } else if (cleared) {
            rows[row + cleared] = rows[row];
        }
    }
    for (int row = 0; row < cleared; row++) rows[row] = TETRIS_EMPTY_ROW;
    return cleared;
}

static int tetris_lock(Tetris* env) {
    int cleared = tetris_lock_rows(env->rows, TETRIS_SHAPES[env->piece][env->rotation], env->x, env->y);
    env->pieces++;
    env->lines += cleared;
    tetris_write_board(env);
    return cleared;
}

static void tetris_new_game(Tetris* env) {
    for (int row = 0; row < TETRIS_H; row++) env->rows[row] = TETRIS_EMPTY_ROW;
    for (int row = TETRIS_H; row < TETRIS_H + TETRIS_FLOOR_ROWS; row++) env->rows[row] = TETRIS_FULL_ROW;
    for (int i = 0; i < TETRIS_PIECES; i++) env->bag[i] = (unsigned char)i;
    env->bag_used = TETRIS_PIECES;
    env->next_piece = tetris_draw_from_bag(env);
    tetris_spawn(env);
    env->lines = env->pieces = env->steps = env->holes = 0;
    env->episode_return = 0.0f;
    tetris_write_board(env);
}

int c_init(Tetris* env) {
    (void)env;   // fixed board: nothing to allocate
    return 0;
}

static void tetris_write_features(Tetris* env);
static void tetris_write_mask(Tetris* env);

static void tetris_write_obs(Tetris* env) {
    tetris_draw_piece(env, 0.5f);
    tetris_write_pieces(env);
    env->observations[TETRIS_OBS_SIZE - 1] = (float)env->fall_timer / (float)env->fall_interval;
    if (env->features) tetris_write_features(env);
    tetris_write_mask(env);
}

void c_reset(Tetris* env) {
    tetris_new_game(env);
    tetris_write_obs(env);
    env->rewards[0] = 0.0f;
    env->terminals[0] = 0;
    env->truncations[0] = 0;
}

// Returns 1 if the piece moved down; 0 if it could not (the caller locks it).
static inline int tetris_fall(Tetris* env) {
    if (!tetris_fits(env, env->piece, env->rotation, env->x, env->y + 1)) return 0;
    env->y++;
    return 1;
}

// Placement `action` turns the piece to `rotation` and shifts it so its leftmost cell is in `column`, where it
// is now, then drops it. A placement that does not fit there (off the board, or into the stack) drops the piece
// as it is. Sets the rotation and box column the piece will drop with.
static int tetris_placement_x(const Tetris* env, int action) {
    uint16_t shape = TETRIS_SHAPES[env->piece][action / TETRIS_W];
    uint16_t columns = (shape | shape >> 4 | shape >> 8 | shape >> 12) & 0xFu;
    return action % TETRIS_W - __builtin_ctz(columns);
}

static void tetris_placement(const Tetris* env, int action, int* rotation, int* x) {
    int turn = action / TETRIS_W;
    int shifted = tetris_placement_x(env, action);
    int fits = tetris_fits(env, env->piece, turn, shifted, env->y);
    *rotation = fits ? turn : env->rotation;
    *x = fits ? shifted : env->x;
}

static void tetris_place(Tetris* env, int action) {
    tetris_placement(env, action, &env->rotation, &env->x);
    while (tetris_fall(env)) {}
}

// Column heights, holes and the rest of the afterstate features of a board.
typedef struct {
    int height[TETRIS_W];
    int top[TETRIS_W];     // row of the highest filled cell of each column (TETRIS_H: empty column)
    int holes, total, bumpiness, tallest;
} TetrisSurface;

static void tetris_sum_heights(TetrisSurface* s) {
    s->total = s->bumpiness = s->tallest = 0;
    for (int col = 0; col < TETRIS_W; col++) {
        s->total += s->height[col];
        if (s->height[col] > s->tallest) s->tallest = s->height[col];
        if (col) s->bumpiness += abs(s->height[col] - s->height[col - 1]);
    }
}

static void tetris_measure(const uint32_t* rows, TetrisSurface* s) {
    const uint32_t board = ((1u << TETRIS_W) - 1u) << TETRIS_PAD;
    uint32_t covered = 0;
    s->holes = 0;
    for (int col = 0; col < TETRIS_W; col++) s->top[col] = TETRIS_H;
    for (int row = 0; row < TETRIS_H; row++) {
        uint32_t filled = rows[row] & board;
        s->holes += __builtin_popcount(covered & ~filled);
        for (uint32_t first = filled & ~covered; first; first &= first - 1) {
            s->top[__builtin_ctz(first) - TETRIS_PAD] = row;
        }
        covered |= filled;
    }
    for (int col = 0; col < TETRIS_W; col++) s->height[col] = TETRIS_H - s->top[col];
    tetris_sum_heights(s);
}

// The board after dropping the piece with `rotation` from box column `x` and row env->y: rows cleared and the
// afterstate features. A piece that starts above the surface of each of its columns lands where its lowest cells
// meet that surface, and clears no row unless one of its rows fills: then the features follow from the columns it
// covers. Anything else (a tucked piece, a cleared row) is simulated on a copy of the board.
static int tetris_outcome(const Tetris* env, const TetrisSurface* now, int rotation, int x, TetrisSurface* after) {
    uint16_t shape = TETRIS_SHAPES[env->piece][rotation];
    int top[4], bottom[4], landing = TETRIS_H, simple = 1;
    for (int k = 0; k < 4; k++) {
        uint16_t column = (shape >> k) & 0x1111u;
        if (!column) { top[k] = -1; continue; }
        top[k] = __builtin_ctz(column) / 4;
        bottom[k] = (31 - __builtin_clz(column)) / 4;
        int surface = now->top[x + k];
        if (env->y + bottom[k] >= surface) simple = 0;
        if (surface - 1 - bottom[k] < landing) landing = surface - 1 - bottom[k];
    }
    if (simple) {
        for (int r = 0; r < 4; r++) {
            uint32_t nibble = (shape >> (4 * r)) & 0xFu;
            if (nibble && (env->rows[landing + r] | (nibble << (x + TETRIS_PAD))) == TETRIS_FULL_ROW) simple = 0;
        }
    }
    if (simple) {
        *after = *now;
        for (int k = 0; k < 4; k++) {
            if (top[k] < 0) continue;
            int col = x + k;
            after->holes += now->top[col] - (landing + bottom[k]) - 1;   // cells left empty under the piece
            after->top[col] = landing + top[k];
            after->height[col] = TETRIS_H - after->top[col];
        }
        tetris_sum_heights(after);
        return 0;
    }
    Tetris probe;   // a copy of the board: tetris_fits reads only rows
    memcpy(probe.rows, env->rows, sizeof(probe.rows));
    int y = env->y;
    while (tetris_fits(&probe, env->piece, rotation, x, y + 1)) y++;
    int cleared = tetris_lock_rows(probe.rows, shape, x, y);
    tetris_measure(probe.rows, after);
    return cleared;
}

// Rows cleared / 4, holes / 10, summed heights / 50, bumpiness / 20, tallest column / 10.
static const float TETRIS_FEATURE_SCALE[TETRIS_FEATURES] = {0.25f, 0.1f, 0.02f, 0.05f, 0.1f};

// Rotations that are the same shape one row lower (I, S, Z) or identical (O): placed at the same leftmost column
// they end up on the same cells, so each placement is worked out once.
static const unsigned char TETRIS_SAME_SHAPE[TETRIS_PIECES][4] = {
    {0, 1, 0, 1}, {0, 0, 0, 0}, {0, 1, 2, 3}, {0, 1, 0, 1}, {0, 1, 0, 1}, {0, 1, 2, 3}, {0, 1, 2, 3},
};

static void tetris_write_features(Tetris* env) {
    TetrisSurface now, after;
    tetris_measure(env->rows, &now);
    float* features = env->observations + TETRIS_OBS_SIZE;
    signed char done[4][TETRIS_W];   // the action already worked out for (shape, leftmost column), or -1
    memset(done, -1, sizeof(done));
    float* out = features;
    for (int action = 0; action < TETRIS_PLACEMENTS; action++, out += TETRIS_FEATURES) {
        int rotation, x;
        tetris_placement(env, action, &rotation, &x);
        uint16_t shape = TETRIS_SHAPES[env->piece][rotation];
        int left = x + __builtin_ctz((shape | shape >> 4 | shape >> 8 | shape >> 12) & 0xFu);
        signed char* same = &done[TETRIS_SAME_SHAPE[env->piece][rotation]][left];
        if (*same >= 0) {
            memcpy(out, features + *same * TETRIS_FEATURES, TETRIS_FEATURES * sizeof(float));
            continue;
        }
        *same = (signed char)action;
        int cleared = tetris_outcome(env, &now, rotation, x, &after);
        // Scaled so that one more row, hole or cell of height moves a feature by about 0.1 to 0.25: placements
        // differ by a few of those, and a scorer learns their weights at the pace of the other inputs.
        out[0] = (float)cleared * TETRIS_FEATURE_SCALE[0];
        out[1] = (float)after.holes * TETRIS_FEATURE_SCALE[1];
        out[2] = (float)after.total * TETRIS_FEATURE_SCALE[2];
        out[3] = (float)after.bumpiness * TETRIS_FEATURE_SCALE[3];
        out[4] = (float)after.tallest * TETRIS_FEATURE_SCALE[4];
    }
}

// Legal-action mask (parameter mask_actions): no Tetris action is ever refused, but some do nothing. A placement
// that does not fit where the piece is (off the board or into the stack) drops the piece as it is, which the
// placement of its current rotation and column does too; left, right and rotate are no-ops where the piece cannot
// move or turn (no kick fits, or the O piece, which looks the same turned). Those are masked; noop, soft drop and
// hard drop always stay legal.
static void tetris_write_mask(Tetris* env) {
    unsigned char* mask = env->action_mask;
    if (mask == NULL) return;
    if (env->placement) {
        for (int action = 0; action < TETRIS_PLACEMENTS; action++)
            mask[action] = (unsigned char)tetris_fits(env, env->piece, action / TETRIS_W,
                                                      tetris_placement_x(env, action), env->y);
        return;
    }
    int rotation = (env->rotation + 1) & 3, turns = 0;   // the O piece looks the same turned: a no-op too
    for (int k = 0; k < 5; k++) turns |= tetris_fits(env, env->piece, rotation, env->x + TETRIS_KICKS[k], env->y);
    turns &= TETRIS_SHAPES[env->piece][rotation] != TETRIS_SHAPES[env->piece][env->rotation];
    mask[TETRIS_NOOP] = mask[TETRIS_SOFT_DROP] = mask[TETRIS_HARD_DROP] = 1;
    mask[TETRIS_LEFT] = (unsigned char)tetris_fits(env, env->piece, env->rotation, env->x - 1, env->y);
    mask[TETRIS_RIGHT] = (unsigned char)tetris_fits(env, env->piece, env->rotation, env->x + 1, env->y);
    mask[TETRIS_ROTATE] = (unsigned char)turns;
}

void c_step(Tetris* env) {
    int action = env->actions[0];
    tetris_draw_piece(env, 0.0f);   // drawn again wherever the piece ends up
    int lock = 0;
    if (env->placement) {
        tetris_place(env, action);
        lock = 1;
    } else if (action == TETRIS_LEFT && tetris_fits(env, env->piece, env->rotation, env->x - 1, env->y)) {
        env->x--;
    } else if (action == TETRIS_RIGHT && tetris_fits(env, env->piece, env->rotation, env->x + 1, env->y)) {
        env->x++;
    } else if (action == TETRIS_ROTATE) {
        int rotation = (env->rotation + 1) & 3;
        for (int k = 0; k < 5; k++) {
            if (tetris_fits(env, env->piece, rotation, env->x + TETRIS_KICKS[k], env->y)) {
                env->rotation = rotation;
                env->x += TETRIS_KICKS[k];
                break;
            }
        }
    } else if (action == TETRIS_SOFT_DROP) {
        lock = !tetris_fall(env);
    } else if (action == TETRIS_HARD_DROP) {
        while (tetris_fall(env)) {}
        lock = 1;
    }
    if (!lock && !env->placement && ++env->fall_timer >= env->fall_interval) {
        env->fall_timer = 0;
        lock = !tetris_fall(env);
    }
    env->steps++;
    float reward = 0.0f;
    int over = 0;
    if (lock) {
        int holes_before = env->holes;
        reward = TETRIS_LINE_REWARDS[tetris_lock(env)] * env->reward_line + env->reward_piece;
        env->holes = tetris_count_holes(env);
        reward -= (float)(env->holes - holes_before) * env->reward_hole;
        over = !tetris_spawn(env);
        // The hole term is a potential that ends at 0: losing with holes on the board pays their charges back, so
        // over a game it sums to nothing and can never make ending the game sooner worth more.
        if (over) reward += (float)env->holes * env->reward_hole;
    }
    env->rewards[0] = reward;
    env->episode_return += reward;
    int truncated = !over && env->steps >= env->max_steps;
    env->terminals[0] = (unsigned char)over;
    env->truncations[0] = (unsigned char)truncated;
    if (over || truncated) {
        env->log.score += (float)env->lines;
        env->log.episode_return += env->episode_return;
        env->log.episode_length += (float)env->steps;
        env->log.pieces += (float)env->pieces;
        env->log.n += 1.0f;
        tetris_new_game(env);
    }
    tetris_write_obs(env);
}

void c_render(Tetris* env, unsigned char* frame) {
    const int cell = TETRIS_CELL_PIXELS;
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BLACK);
    for (int row = 0; row < TETRIS_H; row++) {
        for (int col = 0; col < TETRIS_W; col++) {
            if (env->rows[row] & (1u << (col + TETRIS_PAD))) {
                draw_rect(canvas, col * cell + 1, row * cell + 1, cell - 2, cell - 2, COLOR_GRAY);
            }
        }
    }
    uint16_t shape = TETRIS_SHAPES[env->piece][env->rotation];
    while (shape) {
        int bit = __builtin_ctz(shape);
        shape &= shape - 1;
        draw_rect(canvas, (env->x + bit % 4) * cell + 1, (env->y + bit / 4) * cell + 1, cell - 2, cell - 2,
                  COLOR_ORANGE);
    }
}

// Text picture: '#' locked, '@' falling piece, '.' empty.
int c_render_text(Tetris* env, char* buffer, int size) {
    static const char names[TETRIS_PIECES] = {'I', 'O', 'T', 'S', 'Z', 'J', 'L'};
    char grid[TETRIS_H][TETRIS_W];
    for (int row = 0; row < TETRIS_H; row++) {
        for (int col = 0; col < TETRIS_W; col++) {
            grid[row][col] = (env->rows[row] & (1u << (col + TETRIS_PAD))) ? '#' : '.';
        }
    }
    uint16_t shape = TETRIS_SHAPES[env->piece][env->rotation];
    while (shape) {
        int bit = __builtin_ctz(shape);
        shape &= shape - 1;
        grid[env->y + bit / 4][env->x + bit % 4] = '@';
    }
    int length = 0;
    text_append(buffer, size, &length, "lines %d  next %c\n", env->lines, names[env->next_piece]);
    for (int row = 0; row < TETRIS_H; row++) text_append(buffer, size, &length, "|%.*s|\n", TETRIS_W, grid[row]);
    return length;
}

void c_close(Tetris* env) {
    (void)env;
}
