#include "connect4.h"
#define Env Connect4
#define ENV_NAME connect4
#define DESCRIPTION "Connect Four against a scripted opponent (wins if it can, blocks if it must, else random) or a second agent"
// opponent: 0 the scripted player, 1 a second agent row (ocean/README.md, "Two-player games"); random_opening: each
// game starts after a uniform number in [0, random_opening] of random moves (none completing four)
#define PARAMS(INT, FLOAT) INT(opponent, 0, 0, 1) INT(random_opening, 0, 0, 30)
#define NUM_AGENTS 1
#define AGENTS(env) (1 + (env)->opponent)
#define AGENT_MASKS
#define OBS_SIZE(env) C4_OBS_SIZE
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) 7
#define ACTION_MASK 1   // full columns are illegal (c4_write_mask)
#define MY_METHODS(X) X(set_board)
// Saved and checked by snapshot()/restore(); c4_check_state: the bitboards are a stack of stones the heights and
// move count agree with.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->agent, 0, 0) FIELD((env)->other, 0, 0) FIELD((env)->height, 0, C4_COLS * C4_COLS) \
    FIELD((env)->moves, 0, C4_CELLS) FIELD((env)->steps, 0, C4_CELLS) FIELD((env)->to_move, 0, (env)->opponent)
#define STATE_CHECK c4_check_state
#include "vecenv.h"

// The two bitboards are disjoint stacks of stones on the 7x6 board, and height and moves count them.
static int c4_check_state(const Env* env, char* error, int size) {
    uint64_t stones = env->agent | env->other;
    if ((env->agent & env->other) || (stones >> (C4_COLS * C4_COLS))) {
        snprintf(error, size, "agent and opponent stones overlap or lie off the board");
        return -1;
    }
    int moves = 0;
    for (int col = 0; col < C4_COLS; col++) {
        uint64_t column = (stones >> (C4_COLS * col)) & 0x7F;
        int count = __builtin_popcountll(column);
        if ((column >> C4_ROWS) || (column & (column + 1)) || env->height[col] != C4_COLS * col + count) {
            snprintf(error, size, "column %d: its stones do not stack from the bottom up to height[%d] = %d", col,
                     col, env->height[col]);
            return -1;
        }
        moves += count;
    }
    if (moves != env->moves) {
        snprintf(error, size, "moves = %d but %d stones are on the board", env->moves, moves);
        return -1;
    }
    return 0;
}

#ifndef PUFFER_NO_PYTHON
// Loads a position; -1 if stones overlap, float above an empty cell, or lie off the board.
static int c4_load(Connect4* env, uint64_t agent, uint64_t opponent) {
    uint64_t stones = agent | opponent;
    if ((agent & opponent) || (stones >> (C4_COLS * C4_COLS))) return -1;
    for (int col = 0; col < C4_COLS; col++) {
        uint64_t column = (stones >> (C4_COLS * col)) & 0x7F;
        if ((column >> C4_ROWS) || (column & (column + 1))) return -1;   // stones must stack from the bottom
    }
    env->agent = agent;
    env->other = opponent;
    env->moves = 0;
    memset(env->observations, 0, (size_t)(1 + env->opponent) * C4_OBS_SIZE * sizeof(float));
    for (int col = 0; col < C4_COLS; col++) {
        env->height[col] = C4_COLS * col;
        for (int row = 0; row < C4_ROWS; row++) {
            uint64_t bit = 1ULL << (C4_COLS * col + row);
            if (!(stones & bit)) continue;
            env->height[col]++;
            env->moves++;
            int cell = (C4_ROWS - 1 - row) * C4_COLS + col;
            env->observations[((agent & bit) ? 0 : C4_CELLS) + cell] = 1.0f;
            if (env->opponent) env->observations[C4_OBS_SIZE + ((agent & bit) ? C4_CELLS : 0) + cell] = 1.0f;
        }
    }
    if (env->opponent) {   // agent mode: the side with fewer stones moves next (on a tie, the side to move stays)
        int x = __builtin_popcountll(agent), o = __builtin_popcountll(opponent);
        if (x != o) env->to_move = x > o;
        c4_set_masks(env);
    }
    c4_write_mask(env);
    return 0;
}

// set_board(index, agent_bits, opponent_bits): load a position (bit 7 * column + row, row 0 at the bottom).
static PyObject* set_board(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    unsigned long long agent, opponent;
    if (!PyArg_ParseTuple(args, "nKK", &index, &agent, &opponent)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    if (c4_load(env, agent, opponent) != 0) {
        PyErr_SetString(PyExc_ValueError, "set_board: overlapping stones, a floating stone or a bit off the board");
        return NULL;
    }
    Py_RETURN_NONE;
}
#endif
