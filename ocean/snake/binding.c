#include "snake.h"
#define Env Snake
#define ENV_NAME snake
#define OBS_TYPE unsigned char
#define ACT_TYPE int
#define NUM_AGENTS SNAKE_AGENTS
#define OBS_SIZE(env) snake_obs_size(env)
#define ACT_SIZE 1
#define MY_METHODS(X) X(clear_arena) X(set_snake) X(set_cell)
#define TEXT_SIZE 66000   // the whole arena, up to 256 x 256 cells
#define HEAP_ARRAYS(env, X) \
    X((env)->cells, (env)->padded_cells) X((env)->claims, (env)->padded_cells) X((env)->exit_dir, (env)->padded_cells)
#include "vecenv.h"

static int my_init(Env* env, PyObject* kwargs) {
    return unpack_int(kwargs, "width", &env->width, 4, 256)
        || unpack_int(kwargs, "height", &env->height, 4, 256)
        || unpack_int(kwargs, "num_food", &env->num_food, 0, 65536)
        || unpack_int(kwargs, "vision", &env->vision, 1, 15)
        || unpack_int(kwargs, "max_steps", &env->max_steps, 1, 1000000000)
        || unpack_float(kwargs, "reward_food", &env->reward_food, -100.0f, 100.0f)
        || unpack_float(kwargs, "reward_death", &env->reward_death, -100.0f, 100.0f) ? -1 : 0;
}

static void my_log(Log* log, PyObject* dict) {}

#ifndef PUFFER_NO_PYTHON
// Test setup: clear_arena(index) empties the arena and takes every snake off it (a snake left off respawns at
// random on the next step); set_snake(index, snake, cells) puts a snake on [(x, y), ...], head first;
// set_cell(index, x, y, code) writes SNAKE_EMPTY or SNAKE_FOOD into a cell no snake occupies.

static int snake_cell_of(Snake* env, long x, long y) {
    if (x < 0 || y < 0 || x >= env->width || y >= env->height) return -1;
    return (int)((y + env->vision) * env->stride + x + env->vision);
}

static void snake_observe_all(Snake* env) {
    for (int i = 0; i < SNAKE_AGENTS; i++) snake_write_obs(env, i);
}

static PyObject* clear_arena(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "n", &index)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    for (int y = 0; y < env->height; y++) {
        memset(env->cells + (y + env->vision) * env->stride + env->vision, SNAKE_EMPTY, env->width);
    }
    for (int i = 0; i < SNAKE_AGENTS; i++) {
        env->snakes[i].alive = 0;
        env->snakes[i].length = 0;
    }
    snake_observe_all(env);
    Py_RETURN_NONE;
}

static PyObject* set_snake(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    int which;
    PyObject* sequence;
    if (!PyArg_ParseTuple(args, "niO", &index, &which, &sequence)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    if (which < 0 || which >= SNAKE_AGENTS || env->snakes[which].alive) {
        return PyErr_Format(PyExc_ValueError, "set_snake: snake %d is not in [0, %d) or is still on the arena "
                            "(call clear_arena first)", which, SNAKE_AGENTS);
    }
    PyObject* items = PySequence_Fast(sequence, "set_snake: cells must be a sequence of (x, y)");
    if (items == NULL) return NULL;
    Py_ssize_t length = PySequence_Fast_GET_SIZE(items);
    int cells[1024];
    int ok = length >= 1 && length <= 1024;
    for (Py_ssize_t k = 0; ok && k < length; k++) {
        long x, y;
        ok = PyArg_ParseTuple(PySequence_Fast_GET_ITEM(items, k), "ll", &x, &y);
        cells[k] = ok ? snake_cell_of(env, x, y) : -1;
        ok = ok && cells[k] >= 0 && env->cells[cells[k]] == SNAKE_EMPTY;
        for (Py_ssize_t j = 0; ok && j < k; j++) ok = cells[j] != cells[k];
    }
    int directions[1024];
    for (Py_ssize_t k = 1; ok && k < length; k++) {
        directions[k] = -1;   // the direction that leads from cell k to cell k - 1
        for (int d = 0; d < SNAKE_NUM_ACTIONS; d++) {
            if (cells[k] + env->offsets[d] == cells[k - 1]) directions[k] = d;
        }
        ok = directions[k] >= 0;
    }
    Py_DECREF(items);
    if (!ok) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "set_snake: expected 1..1024 distinct empty (x, y) cells, each next to "
                        "the previous one");
        return NULL;
    }
    SnakeBody* s = &env->snakes[which];
    memset(s, 0, sizeof(*s));
    s->alive = 1;
    s->length = (int)length;
    s->head = cells[0];
    s->tail = cells[length - 1];
    s->heading = length > 1 ? directions[1] : 0;
    env->cells[cells[0]] = SNAKE_HEAD;
    for (Py_ssize_t k = 1; k < length; k++) {
        env->cells[cells[k]] = SNAKE_BODY;
        env->exit_dir[cells[k]] = (unsigned char)directions[k];
    }
    snake_observe_all(env);
    Py_RETURN_NONE;
}

static PyObject* set_cell(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    long x, y;
    int code;
    if (!PyArg_ParseTuple(args, "nlli", &index, &x, &y, &code)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    int cell = snake_cell_of(env, x, y);
    if (cell < 0 || (code != SNAKE_EMPTY && code != SNAKE_FOOD)
            || (env->cells[cell] != SNAKE_EMPTY && env->cells[cell] != SNAKE_FOOD)) {
        PyErr_SetString(PyExc_ValueError, "set_cell: (x, y) must be an arena cell without a snake; code 0 or 1");
        return NULL;
    }
    env->cells[cell] = (unsigned char)code;
    snake_observe_all(env);
    Py_RETURN_NONE;
}
#endif
