#include "go.h"
#define Env Go
#define ENV_NAME go
#define DESCRIPTION "Go (Tromp-Taylor area scoring, komi, superko) against a scripted capture-first player"
// opponent: 0 the scripted player, 1 a second agent row (ocean/README.md, "Two-player games"); max_moves 0: 3*size^2
#define PARAMS(INT, FLOAT) \
    INT(opponent, 0, 0, 1) INT(size, 9, 5, GO_MAX_SIZE) FLOAT(komi, 7.5f, -400.0f, 400.0f) INT(max_moves, 0, 0, 4000)
#define NUM_AGENTS 1
#define AGENTS(env) (1 + (env)->opponent)
#define AGENT_MASKS
#define OBS_SIZE(env) (3 * (env)->size * (env)->size + 2)
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) ((env)->size * (env)->size + 1)   // a point (row-major), then the pass
#define ACTION_MASK 1   // occupied points, suicides and superko repeats are illegal; the pass always is legal
#define MY_METHODS(X) X(set_board) X(get_score)
// Saved and checked by snapshot()/restore(); go_check_state: the edge ring, the hash, the history's counts.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->board, 0, GO_EDGE) FIELD((env)->hash, 0, 0) \
    FIELD((env)->moves, 0, (env)->limit - 1) FIELD((env)->history_len, 1, (env)->moves + 1) \
    FIELD((env)->stones, 0, (env)->points) FIELD((env)->peak, (env)->stones, (env)->points) \
    ARRAY((env)->history, (env)->limit + 1, 0, 0) ARRAY((env)->history_stones, (env)->limit + 1, 0, (env)->points) \
    FIELD((env)->to_move, GO_BLACK, GO_WHITE) \
    FIELD((env)->row0_color, GO_BLACK, GO_WHITE) FIELD((env)->passes, 0, 1) FIELD((env)->steps, 0, (env)->limit) \
    FIELD((env)->captured, 0, 1000000) FIELD((env)->illegal, 0, (env)->limit)
#define STATE_CHECK go_check_state
#include "vecenv.h"

static uint64_t go_board_hash(const Go* env) {
    uint64_t hash = 0;
    for (int p = 0; p < env->width * env->width; p++)
        if (env->board[p] == GO_BLACK || env->board[p] == GO_WHITE) hash ^= go_zobrist[env->board[p] - 1][p];
    return hash;
}

// The edge ring surrounds the points, the hash is the board's, the current position is the history's last, and the
// peak is the most stones of any position in the history.
static int go_check_state(const Env* env, char* error, int size) {
    const int w = env->width;
    for (int p = 0; p < GO_MAX_CELLS; p++) {
        int r = p / w, c = p % w;
        int inside = p < w * w && r >= 1 && r <= env->size && c >= 1 && c <= env->size;
        int expected_edge = p < w * w && !inside;
        if ((expected_edge && env->board[p] != GO_EDGE) || (inside && env->board[p] == GO_EDGE) ||
            (p >= w * w && env->board[p] != 0)) {
            snprintf(error, size, "board[%d] = %d does not fit a %dx%d board with its edge ring", p, env->board[p],
                     env->size, env->size);
            return -1;
        }
    }
    int stones = 0;
    for (int p = 0; p < w * w; p++) stones += env->board[p] == GO_BLACK || env->board[p] == GO_WHITE;
    if (env->hash != go_board_hash(env) || stones != env->stones) {
        snprintf(error, size, "hash or stone count does not match the board");
        return -1;
    }
    for (int i = 0; i <= env->limit; i++) {
        if (env->history_stones[i] > env->points) {
            snprintf(error, size, "history_stones[%d] = %d is more than the board's %d points", i,
                     env->history_stones[i], env->points);
            return -1;
        }
    }
    int peak = 0, last = env->history_len - 1;
    for (int i = 0; i < env->history_len; i++) peak = env->history_stones[i] > peak ? env->history_stones[i] : peak;
    if (peak != env->peak || env->history[last] != env->hash || env->history_stones[last] != env->stones) {
        snprintf(error, size, "history or peak does not match the game's positions");
        return -1;
    }
    return 0;
}

#ifndef PUFFER_NO_PYTHON
// set_board(index, rows, to_move): load a position, rows top first in 'X' (black) 'O' (white) '.' (empty), with
// 'X' or 'O' to move; it becomes the game's first position (history and move count restart). Against the scripted
// opponent the agent plays the side to move.
static PyObject* set_board(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    const char* rows;
    const char* mover;
    if (!PyArg_ParseTuple(args, "nss", &index, &rows, &mover)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    if ((int)strlen(rows) != env->points || (strcmp(mover, "X") != 0 && strcmp(mover, "O") != 0)) {
        PyErr_Format(PyExc_ValueError, "set_board: rows must be %d characters of 'X', 'O', '.' and to_move 'X' or 'O'",
                     env->points);
        return NULL;
    }
    for (int i = 0; i < env->points; i++) {
        if (rows[i] != 'X' && rows[i] != 'O' && rows[i] != '.') {
            PyErr_Format(PyExc_ValueError, "set_board: character %d is '%c', not one of 'X', 'O', '.'", i, rows[i]);
            return NULL;
        }
    }
    go_new_game(env);
    env->to_move = mover[0] == 'X' ? GO_BLACK : GO_WHITE;
    if (!env->opponent) env->row0_color = env->to_move;
    env->moves = env->passes = 0;
    for (int i = 0; i < env->points; i++) {
        int p = go_cell(env, i);
        env->board[p] = rows[i] == 'X' ? GO_BLACK : rows[i] == 'O' ? GO_WHITE : GO_EMPTY;
    }
    env->hash = go_board_hash(env);
    env->stones = 0;
    for (int p = 0; p < env->width * env->width; p++)
        env->stones += env->board[p] == GO_BLACK || env->board[p] == GO_WHITE;
    env->peak = env->stones;
    env->history_len = 0;
    go_record(env);
    env->groups_valid = 0;
    go_write(env);
    Py_RETURN_NONE;
}

// get_score(index): (black area, white area) by Tromp-Taylor counting, komi not included.
static PyObject* get_score(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "n", &index)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    int black, white;
    go_areas(env, &black, &white);
    return Py_BuildValue("ii", black, white);
}
#endif
