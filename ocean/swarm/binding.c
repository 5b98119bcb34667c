#include "swarm.h"
#define Env Swarm
#define ENV_NAME swarm
#define DESCRIPTION PUFFER_STR(SWARM_AGENTS) " agents per arena forage for food while predators among them hunt prey"
#define PARAMS(INT, FLOAT) \
    INT(width, 64, 16, 512) INT(height, 64, 16, 512) INT(num_predators, 32, 0, SWARM_AGENTS) \
    INT(num_food, 256, 0, 65536) INT(vision, 4, 1, 10) INT(max_steps, 1000, 1, 1000000000) \
    FLOAT(reward_food, 1.0, -100.0f, 100.0f) FLOAT(reward_catch, 1.0, -100.0f, 100.0f) \
    FLOAT(reward_caught, -1.0, -100.0f, 100.0f)
#define NUM_AGENTS SWARM_AGENTS
#define OBS_SIZE(env) swarm_obs_size(env)
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) ((i) == swarm_obs_size(env) - 1 ? 1 : SW_WALL)
#define ACT_SIZE 1
#define ACT_N(env, j) SW_NUM_ACTIONS
#define MY_METHODS(X) X(clear_arena) X(set_agent) X(set_food) X(get_agents)
#define TEXT_SIZE (513 * 512 + 1)   // the whole arena, up to 512 x 512 cells
// Saved and checked by snapshot()/restore(); swarm_check_state checks that cells, food and agents agree.
#define STATE(env, FIELD, ARRAY) \
    ARRAY((env)->cells, (env)->padded_cells, 0, SW_WALL) ARRAY((env)->food, (env)->padded_cells, 0, 1) \
    ARRAY((env)->who, (env)->padded_cells, 0, SWARM_AGENTS) FIELD((env)->cell, -1, (env)->padded_cells - 1) \
    FIELD((env)->steps, 0, (env)->max_steps - 1) FIELD((env)->eaten, 0, (env)->max_steps) \
    FIELD((env)->episode_return, -FLT_MAX, FLT_MAX) FIELD((env)->first, 0, SWARM_AGENTS - 1)
#define STATE_CHECK swarm_check_state
#include "vecenv.h"

// The wall border is whole and nothing else is wall; food lies only inside, never under a prey; every agent on the
// arena is where `who` says, and its cell shows its role; a cell without an agent shows its food.
static int swarm_check_state(const Env* env, char* error, int size) {
    for (int c = 0; c < env->padded_cells; c++) {
        int x = c % env->stride - env->vision, y = c / env->stride - env->vision;
        int inside = x >= 0 && x < env->width && y >= 0 && y < env->height, who = env->who[c];
        int expected = !inside ? SW_WALL : who ? (swarm_is_predator(env, who - 1) ? SW_PREDATOR : SW_PREY)
                                              : env->food[c] ? SW_FOOD : SW_EMPTY;
        if (env->cells[c] != expected || (!inside && (env->food[c] || who)) || (who && env->cell[who - 1] != c)
                || (env->cells[c] == SW_PREY && env->food[c])) {
            snprintf(error, size, "cell (%d, %d) disagrees with the agents and food on it", x, y);
            return -1;
        }
    }
    for (int i = 0; i < SWARM_AGENTS; i++)
        if (env->cell[i] >= 0 && env->who[env->cell[i]] != i + 1) {
            snprintf(error, size, "agent %d is not in its cell %d", i, env->cell[i]);
            return -1;
        }
    return 0;
}

#ifndef PUFFER_NO_PYTHON
// Test hooks (tests/test_ocean_swarm.py): clear_arena(index) takes every agent and all food off the arena (agents
// left off respawn at random on the next step); set_agent(index, agent, x, y) puts an agent on a free cell (a prey
// on food eats nothing: the food is removed); set_food(index, x, y, present) on a cell without a prey;
// get_agents(index) -> [(x, y) or None].

static void swarm_observe_all(Swarm* env) {
    for (int i = 0; i < SWARM_AGENTS; i++) swarm_observe(env, i);
}

static PyObject* clear_arena(PyObject* self, PyObject* args) {
    Env* env = vector_env_arg(self, args);
    if (env == NULL) return NULL;
    arena_fill(arena_of(env), env->cells, 1, SW_EMPTY);
    arena_fill(arena_of(env), env->food, 1, 0);
    arena_fill(arena_of(env), env->who, sizeof(int), 0);
    for (int i = 0; i < SWARM_AGENTS; i++) env->cell[i] = -1;
    swarm_observe_all(env);
    Py_RETURN_NONE;
}

static PyObject* set_agent(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    int i, x, y;
    if (!PyArg_ParseTuple(args, "niii", &index, &i, &x, &y)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    int c = arena_cell(arena_of(env), x, y);
    if (i < 0 || i >= SWARM_AGENTS || c < 0 || (env->who[c] && env->who[c] != i + 1))
        return PyErr_Format(PyExc_ValueError, "set_agent: agent 0-%d and a free arena cell expected",
                            SWARM_AGENTS - 1);
    if (env->cell[i] >= 0) {
        int from = env->cell[i];
        env->who[from] = 0;
        env->cells[from] = env->food[from] ? SW_FOOD : SW_EMPTY;
    }
    if (!swarm_is_predator(env, i)) env->food[c] = 0;
    env->cell[i] = c;
    env->who[c] = i + 1;
    env->cells[c] = swarm_is_predator(env, i) ? SW_PREDATOR : SW_PREY;
    swarm_observe_all(env);
    Py_RETURN_NONE;
}

static PyObject* set_food(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    int x, y, present;
    if (!PyArg_ParseTuple(args, "niii", &index, &x, &y, &present)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    int c = arena_cell(arena_of(env), x, y);
    if (c < 0 || (present != 0 && present != 1) || env->cells[c] == SW_PREY)
        return PyErr_Format(PyExc_ValueError, "set_food: an arena cell without a prey and present 0/1 expected");
    env->food[c] = (unsigned char)present;
    if (!env->who[c]) env->cells[c] = present ? SW_FOOD : SW_EMPTY;
    swarm_observe_all(env);
    Py_RETURN_NONE;
}

static PyObject* get_agents(PyObject* self, PyObject* args) {
    Env* env = vector_env_arg(self, args);
    if (env == NULL) return NULL;
    PyObject* list = PyList_New(SWARM_AGENTS);
    for (int i = 0; list != NULL && i < SWARM_AGENTS; i++) {
        int c = env->cell[i];
        PyObject* item = c < 0 ? Py_NewRef(Py_None)
                               : Py_BuildValue("(ii)", c % env->stride - env->vision, c / env->stride - env->vision);
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}
#endif
