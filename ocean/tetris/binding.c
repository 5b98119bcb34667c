#include "tetris.h"
#define Env Tetris
#define ENV_NAME tetris
#define DESCRIPTION "Tetris on a 10x20 board with a 7-piece bag; rewards for cleared rows"
#define PARAMS(INT, FLOAT) \
    INT(placement, 1, 0, 1) INT(fall_interval, 1, 1, 100) INT(max_steps, 10000, 1, 1000000000) \
    FLOAT(reward_piece, 0.02, -10.0f, 10.0f) FLOAT(reward_line, 0.1, 0.0f, 10.0f) FLOAT(reward_hole, 0.0, 0.0f, 10.0f) \
    INT(features, 0, 0, 1) INT(mask_actions, 0, 0, 1)
#define NUM_AGENTS 1
#define OBS_SIZE(env) (TETRIS_OBS_SIZE + ((env)->features ? TETRIS_FEATURE_SIZE : 0))
// Board, current and next piece, fall timer, all in [0, 1]; with features = 1 then, for each of the 40 placements,
// rows cleared / 4, holes / 10, summed heights / 50, bumpiness / 20, tallest column / 10 (at most 1, 20, 4, 9, 2).
static const double tetris_feature_high[TETRIS_FEATURES] = {1, 20, 4, 9, 2};
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) ((i) < TETRIS_OBS_SIZE ? 1 : tetris_feature_high[((i) - TETRIS_OBS_SIZE) % TETRIS_FEATURES])
#define ACT_SIZE 1
#define ACT_N(env, j) ((env)->placement ? 4 * 10 : 6)
#define ACTION_MASK 1                                // with mask_actions = 1: see tetris_write_mask
#define ACTION_MASK_ON(env) ((env)->mask_actions)
#define MY_METHODS(X) X(set_state)
// Saved and checked by snapshot()/restore(); tetris_check_state: walls and floor intact, the falling piece fits
// where it is, holes counted right.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->rows, 0, TETRIS_FULL_ROW) FIELD((env)->piece, 0, TETRIS_PIECES - 1) FIELD((env)->rotation, 0, 3) \
    FIELD((env)->x, -TETRIS_PAD, TETRIS_W) FIELD((env)->y, 0, TETRIS_H - 1) \
    FIELD((env)->next_piece, 0, TETRIS_PIECES - 1) FIELD((env)->bag, 0, TETRIS_PIECES - 1) \
    FIELD((env)->bag_used, 0, TETRIS_PIECES) FIELD((env)->fall_timer, 0, (env)->fall_interval - 1) \
    FIELD((env)->steps, 0, (env)->max_steps - 1) FIELD((env)->pieces, 0, (env)->steps) \
    FIELD((env)->lines, 0, 4 * (env)->pieces) FIELD((env)->holes, 0, TETRIS_CELLS) \
    FIELD((env)->episode_return, -FLT_MAX, FLT_MAX)
#define STATE_CHECK tetris_check_state
#include "vecenv.h"

// Every board row keeps its wall bits, the floor rows are full, the falling piece fits where it is, and holes
// counts the board's holes.
static int tetris_check_state(const Env* env, char* error, int size) {
    const uint32_t board = ((1u << TETRIS_W) - 1u) << TETRIS_PAD;
    for (int row = 0; row < TETRIS_H + TETRIS_FLOOR_ROWS; row++) {
        uint32_t walls = row < TETRIS_H ? env->rows[row] & ~board : env->rows[row];
        if (walls != (row < TETRIS_H ? TETRIS_EMPTY_ROW : TETRIS_FULL_ROW)) {
            snprintf(error, size, "rows[%d] = %#x has broken walls or floor", row, env->rows[row]);
            return -1;
        }
    }
    if (!tetris_fits(env, env->piece, env->rotation, env->x, env->y)) {
        snprintf(error, size, "the falling piece %d (rotation %d) does not fit at x = %d, y = %d", env->piece,
                 env->rotation, env->x, env->y);
        return -1;
    }
    if (env->holes != tetris_count_holes(env)) {
        snprintf(error, size, "holes = %d but the board has %d", env->holes, tetris_count_holes(env));
        return -1;
    }
    return 0;
}

#ifndef PUFFER_NO_PYTHON
// Loads a board and falling piece; -1 (state unchanged) if the piece is unknown or does not fit.
static int tetris_load(Tetris* env, const unsigned long* masks, int piece, int rotation, int x, int y) {
    if (piece < 0 || piece >= TETRIS_PIECES || rotation < 0 || rotation > 3 || x > TETRIS_W || y < 0
            || y >= TETRIS_H) return -1;
    uint32_t saved[TETRIS_H];
    memcpy(saved, env->rows, sizeof(saved));
    for (int row = 0; row < TETRIS_H; row++) env->rows[row] = TETRIS_EMPTY_ROW | ((uint32_t)masks[row] << TETRIS_PAD);
    if (!tetris_fits(env, piece, rotation, x, y)) {
        memcpy(env->rows, saved, sizeof(saved));
        return -1;
    }
    env->piece = piece;
    env->rotation = rotation;
    env->x = x;
    env->y = y;
    env->fall_timer = 0;
    env->holes = tetris_count_holes(env);
    tetris_write_board(env);
    tetris_write_obs(env);
    return 0;
}

// set_state(index, rows, piece, rotation, x, y): load the board (TETRIS_H ints, top row first, bit c = column c)
// and the falling piece (0..6 = I O T S Z J L; x, y = top-left of its 4x4 box).
static PyObject* set_state(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    PyObject* sequence;
    int piece, rotation, x, y;
    if (!PyArg_ParseTuple(args, "nOiiii", &index, &sequence, &piece, &rotation, &x, &y)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    PyObject* items = PySequence_Fast(sequence, "set_state: rows must be a sequence");
    if (items == NULL) return NULL;
    unsigned long masks[TETRIS_H];
    int ok = PySequence_Fast_GET_SIZE(items) == TETRIS_H;
    for (int row = 0; ok && row < TETRIS_H; row++) {
        masks[row] = PyLong_AsUnsignedLong(PySequence_Fast_GET_ITEM(items, row));
        ok = !PyErr_Occurred() && masks[row] < (1ul << TETRIS_W);
    }
    Py_DECREF(items);
    if (ok) ok = tetris_load(env, masks, piece, rotation, x, y) == 0;
    if (!ok) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "set_state: expected %d row masks below 2^%d and a piece that fits the board",
                     TETRIS_H, TETRIS_W);
        return NULL;
    }
    Py_RETURN_NONE;
}
#endif
