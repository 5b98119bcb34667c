#include "maze.h"
#define Env Maze
#define ENV_NAME maze
#define DESCRIPTION "Find the goal of a new random maze each episode, seeing a crop around you; keys open doors"
#define PARAMS(INT, FLOAT) \
    INT(size, 5, 2, MAZE_MAX_SIZE) INT(vision, 3, 1, MAZE_MAX_VISION) INT(keys, 1, 0, MAZE_MAX_KEYS) \
    FLOAT(loops, 0.0, 0.0f, 1.0f) INT(max_steps, 100, 1, 100000) FLOAT(reward_goal, 1.0, 0.0f, 10.0f) \
    FLOAT(reward_key, 0.0, 0.0f, 10.0f) FLOAT(step_cost, 0.0, 0.0f, 1.0f)
#define NUM_AGENTS 1
#define OBS_SIZE(env) maze_obs_size(env)
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) MAZE_NUM_ACTIONS
#define MY_METHODS(X) X(set_maze)
#define TEXT_SIZE 4400   // the whole grid, up to 63 x 63 cells, and a status line
// Saved and checked by snapshot()/restore(); maze_check_state: the grid is walled in and the agent stands on a
// free cell inside it.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->cells, 0, MAZE_NUM_CODES - 1) FIELD((env)->pos, 0, (env)->stride * (env)->stride - 1) \
    FIELD((env)->held, 0, (1 << MAZE_MAX_KEYS) - 1) FIELD((env)->steps, 0, (env)->max_steps - 1) \
    FIELD((env)->keys_collected, 0, MAZE_MAX_KEYS) FIELD((env)->doors_opened, 0, MAZE_MAX_KEYS) \
    FIELD((env)->optimal, 0, MAZE_MAX_CELLS) FIELD((env)->episode_return, -200000.0f, 200000.0f)
#define STATE_CHECK maze_check_state
#include "vecenv.h"

// Every padded cell outside the grid's interior is a wall (so no move and no crop leaves the array); the agent is
// on an empty interior cell.
static int maze_check_state(const Env* env, char* error, int size) {
    int inner_low = env->vision + 1, inner_high = env->vision + env->grid - 2;
    for (int cell = 0; cell < env->stride * env->stride; cell++) {
        int x = cell % env->stride, y = cell / env->stride;
        int inside = x >= inner_low && x <= inner_high && y >= inner_low && y <= inner_high;
        if (!inside && env->cells[cell] != MAZE_WALL) {
            snprintf(error, size, "padded cell (%d, %d) lies on or outside the outer wall but is not a wall", x, y);
            return -1;
        }
    }
    int x = env->pos % env->stride, y = env->pos / env->stride;
    if (x < inner_low || x > inner_high || y < inner_low || y > inner_high || env->cells[env->pos] != MAZE_EMPTY) {
        snprintf(error, size, "the agent at padded cell (%d, %d) is not on an empty cell inside the maze", x, y);
        return -1;
    }
    return 0;
}

#ifndef PUFFER_NO_PYTHON
// set_maze(index, rows, held=0): load a hand-drawn maze, one string per grid row in the characters of
// render_text ('#' wall, '.' floor, 'G' goal, 'a'-'c' keys, 'A'-'C' doors, '@' the agent, exactly once); it must be
// (2 size + 1) square with a wall all round. `held`: bit c = key c in hand. Starts a fresh episode count.
static PyObject* set_maze(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    PyObject* rows;
    int held = 0;
    if (!PyArg_ParseTuple(args, "nO|i", &index, &rows, &held)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    PyObject* items = PySequence_Fast(rows, "set_maze: rows must be a sequence of strings");
    if (items == NULL) return NULL;
    static const char glyphs[] = ".#GabcABC";
    unsigned char cells[MAZE_MAX_CELLS];
    memset(cells, MAZE_WALL, sizeof cells);
    int ok = PySequence_Fast_GET_SIZE(items) == env->grid && held >= 0 && held < (1 << MAZE_MAX_KEYS);
    int agent = -1, agents = 0;
    for (int y = 0; ok && y < env->grid; y++) {
        PyObject* item = PySequence_Fast_GET_ITEM(items, y);
        Py_ssize_t length;
        const char* text = PyUnicode_Check(item) ? PyUnicode_AsUTF8AndSize(item, &length) : NULL;
        ok = text != NULL && length == env->grid;
        for (int x = 0; ok && x < env->grid; x++) {
            int cell = maze_cell(env, x, y);
            const char* glyph = text[x] ? strchr(glyphs, text[x]) : NULL;
            int border = x == 0 || y == 0 || x == env->grid - 1 || y == env->grid - 1;
            if (text[x] == '@') {
                agent = cell;
                agents++;
                cells[cell] = MAZE_EMPTY;
            } else if (glyph != NULL) {
                cells[cell] = (unsigned char)(glyph - glyphs);
            } else {
                ok = 0;
            }
            ok = ok && (!border || cells[cell] == MAZE_WALL);
        }
    }
    Py_DECREF(items);
    if (!ok || agents != 1) {
        PyErr_Clear();
        return PyErr_Format(PyExc_ValueError, "set_maze: expected %d strings of %d characters from '#.GabcABC@' with "
                            "'#' all round and one '@', and held in [0, 7]", env->grid, env->grid);
    }
    memcpy(env->cells, cells, sizeof cells);
    env->pos = agent;
    env->held = held;
    env->optimal = 0;
    maze_begin(env);
    Py_RETURN_NONE;
}
#endif
