#include "g2048.h"
#define Env G2048
#define ENV_NAME g2048
#define DESCRIPTION "2048 on a 4x4 board; one-hot tile observations, log-scaled merge rewards"
#define PARAMS(INT, FLOAT) \
    INT(max_steps, 20000, 1, 1000000000)
// The folder is g2048 (a C name cannot start with a digit); the env is puffer_2048.
#define NAMES(ENTRY, SET) ENTRY("puffer_2048", DESCRIPTION, )
#define NUM_AGENTS 1
#define OBS_SIZE(env) G2048_OBS_SIZE
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) 4
#define MY_METHODS(X) X(set_board)
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->board, 0, G2048_VALUES - 1) FIELD((env)->score, 0, 1000000000) \
    FIELD((env)->steps, 0, (env)->max_steps - 1) FIELD((env)->episode_return, -FLT_MAX, FLT_MAX)
#include "vecenv.h"

#ifndef PUFFER_NO_PYTHON
// set_board(index, exponents): load 16 tile exponents (0 empty, 1 for a 2, ...), row-major from the top-left.
static PyObject* set_board(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    PyObject* sequence;
    if (!PyArg_ParseTuple(args, "nO", &index, &sequence)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    PyObject* items = PySequence_Fast(sequence, "set_board: exponents must be a sequence");
    if (items == NULL) return NULL;
    unsigned char board[G2048_CELLS];
    int ok = PySequence_Fast_GET_SIZE(items) == G2048_CELLS;
    for (int i = 0; ok && i < G2048_CELLS; i++) {
        long e = PyLong_AsLong(PySequence_Fast_GET_ITEM(items, i));
        ok = e >= 0 && e < G2048_VALUES;
        board[i] = (unsigned char)e;
    }
    Py_DECREF(items);
    if (!ok) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "set_board: expected %d ints in [0, %d)", G2048_CELLS, G2048_VALUES);
        return NULL;
    }
    memcpy(env->board, board, sizeof(board));
    g2048_write_obs(env);
    Py_RETURN_NONE;
}
#endif
