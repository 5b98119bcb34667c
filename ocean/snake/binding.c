#include "snake.h"
#define Env Snake
#define ENV_NAME snake
#define DESCRIPTION PUFFER_STR(SNAKE_AGENTS) " snakes per arena compete for food; each sees a crop around its head"
#define PARAMS(INT, FLOAT) \
    INT(width, 40, 4, 256) INT(height, 40, 4, 256) INT(num_food, 24, 0, 65536) INT(vision, 5, 1, 15) \
    INT(max_steps, 2000, 1, 1000000000) FLOAT(reward_food, 1.0, -100.0f, 100.0f) \
    FLOAT(reward_death, -1.0, -100.0f, 100.0f)
#define NUM_AGENTS SNAKE_AGENTS
#define OBS_SIZE(env) snake_obs_size(env)
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 4
#define ACT_SIZE 1
#define ACT_N(env, j) 4
#define MY_METHODS(X) X(clear_arena) X(set_snake) X(set_cell)
#define TEXT_SIZE 66000   // the whole arena, up to 256 x 256 cells
// Saved and checked by snapshot()/restore(): the three arrays (cells a valid code, no claims left between steps,
// exit directions 0-3) and the snakes, which snake_check_state walks body by body.
#define STATE(env, FIELD, ARRAY) \
    ARRAY((env)->cells, (env)->padded_cells, 0, SNAKE_NUM_CELLS - 1) ARRAY((env)->claims, (env)->padded_cells, 0, 0) \
    ARRAY((env)->exit_dir, (env)->padded_cells, 0, SNAKE_NUM_ACTIONS - 1) FIELD((env)->snakes, 0, 0)
#define STATE_CHECK snake_check_state
#include "vecenv.h"

// The wall border is whole and the arena holds no wall; every live snake's body, followed from its tail along
// exit_dir, is a path of body cells inside the arena ending at its head; no two bodies share a cell and no body or
// head cell belongs to no snake. (c_step and the observation crop rely on all of it to stay inside the arrays.)
static int snake_check_state(const Env* env, char* error, int size) {
    static unsigned char owned[(256 + 30) * (256 + 30)];  // the largest padded arena; the GIL or one thread
    int arena = env->width * env->height;
    memset(owned, 0, (size_t)env->padded_cells);
    for (int cell = 0; cell < env->padded_cells; cell++) {
        int x = cell % env->stride - env->vision, y = cell / env->stride - env->vision;
        int inside = x >= 0 && x < env->width && y >= 0 && y < env->height;
        if (inside == (env->cells[cell] == SNAKE_WALL)) {
            snprintf(error, size, "cell (%d, %d) %s a wall", x, y, inside ? "is" : "is not");
            return -1;
        }
    }
    for (int i = 0; i < SNAKE_AGENTS; i++) {
        const SnakeBody* s = &env->snakes[i];
        int alive_ok = s->alive == 0 || s->alive == 1, moving_ok = s->moving == 0 || s->moving == 1;
        if (!alive_ok || !moving_ok || s->heading < 0 || s->heading >= SNAKE_NUM_ACTIONS || s->length < s->alive
                || s->length > arena || s->head < 0 || s->head >= env->padded_cells || s->tail < 0
                || s->tail >= env->padded_cells || s->target < 0 || s->target >= env->padded_cells || s->steps < 0
                || s->steps >= env->max_steps || s->food_eaten < 0 || s->food_eaten > arena
                || !isfinite(s->episode_return)) {
            snprintf(error, size, "snake %d has a field out of range (alive %d, length %d, head %d, tail %d, heading "
                     "%d, steps %d)", i, s->alive, s->length, s->head, s->tail, s->heading, s->steps);
            return -1;
        }
        if (!s->alive) continue;
        int cell = s->tail;
        for (int k = 1; k <= s->length; k++) {
            int x = cell % env->stride - env->vision, y = cell / env->stride - env->vision;
            int code = k == s->length ? SNAKE_HEAD : SNAKE_BODY;
            if (x < 0 || x >= env->width || y < 0 || y >= env->height || env->cells[cell] != code || owned[cell]
                    || (k == s->length && cell != s->head)) {
                snprintf(error, size, "snake %d: body cell %d of %d, from the tail, is not its own %s", i, k,
                         s->length, k == s->length ? "head" : "body");
                return -1;
            }
            owned[cell] = 1;
            if (k < s->length) cell += env->offsets[env->exit_dir[cell]];
        }
    }
    for (int cell = 0; cell < env->padded_cells; cell++) {
        if ((env->cells[cell] == SNAKE_BODY || env->cells[cell] == SNAKE_HEAD) && !owned[cell]) {
            snprintf(error, size, "cell %d holds a snake part that belongs to no snake", cell);
            return -1;
        }
    }
    return 0;
}

#ifndef PUFFER_NO_PYTHON
// Test setup: clear_arena(index) empties the arena and takes every snake off it (a snake left off respawns at
// random on the next step); set_snake(index, snake, cells) puts a snake on [(x, y), ...], head first;
// set_cell(index, x, y, code) writes SNAKE_EMPTY or SNAKE_FOOD into a cell no snake occupies.

static void snake_observe_all(Snake* env) {
    for (int i = 0; i < SNAKE_AGENTS; i++) snake_write_obs(env, i);
}

static PyObject* clear_arena(PyObject* self, PyObject* args) {
    Env* env = vector_env_arg(self, args);
    if (env == NULL) return NULL;
    arena_fill(arena_of(env), env->cells, 1, SNAKE_EMPTY);
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
        cells[k] = ok ? arena_cell(arena_of(env), x, y) : -1;
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
    int cell = arena_cell(arena_of(env), x, y);
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
