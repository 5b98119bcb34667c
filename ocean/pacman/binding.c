#include "pacman.h"
#define Env Pacman
#define ENV_NAME pacman
#define DESCRIPTION "Arcade Pac-Man: 244 pellets, four ghosts with their own chase targets, power pellets, 3 lives"
#define PARAMS(INT, FLOAT) \
    INT(crop, 0, 0, 13) INT(lives, 3, 1, 5) INT(max_steps, 20000, 1, 10000000) \
    FLOAT(reward_scale, 0.01, 0.0f, 100.0f) FLOAT(reward_death, -1.0, -100.0f, 100.0f)
#define NUM_AGENTS 1
#define OBS_SIZE(env) pacman_obs_size(env)
#define OBS_LOW(env, i) (((i) >= 6 && (i) < 30 && ((i) - 6) % 6 < 2) ? -1 : 0)
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) 5
#define MY_METHODS(X) X(set_pacman) X(set_ghost) X(set_pellet) X(set_timers) X(ghost_targets) X(get_state)
#define TEXT_SIZE 2048
// Saved and checked by snapshot()/restore(); pacman_check_state checks what ranges cannot: pellets lie on the
// maze's pellet tiles and agree with the counts, and every actor stands where its state allows.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->pellets, 0, 2) FIELD((env)->block_pellets, 0, 16) FIELD((env)->pac_x, 0, PACMAN_W - 1) \
    FIELD((env)->pac_y, 0, PACMAN_H - 1) FIELD((env)->pac_dir, 0, 3) FIELD((env)->intent, 0, 3) \
    FIELD((env)->ghost_x, 0, PACMAN_W - 1) FIELD((env)->ghost_y, 0, PACMAN_H - 1) FIELD((env)->ghost_dir, 0, 3) \
    FIELD((env)->ghost_state, 0, GHOST_NUM_STATES - 1) FIELD((env)->ghost_acc, 0, 15) \
    FIELD((env)->ghost_frightened, 0, 1) FIELD((env)->ghost_reverse, 0, 1) \
    FIELD((env)->ghost_dots, 0, PACMAN_PELLETS) FIELD((env)->pellets_left, 1, PACMAN_PELLETS) \
    FIELD((env)->level, 1, (env)->max_steps) FIELD((env)->lives_left, 1, PACMAN_MAX_LIVES) \
    FIELD((env)->score, 0, 100 * (env)->max_steps) FIELD((env)->extra_life, 0, 1) FIELD((env)->phase, 0, 7) \
    FIELD((env)->phase_timer, 0, 7777) FIELD((env)->fright_timer, 0, PACMAN_MAX_FRIGHT) FIELD((env)->combo, 0, 3) \
    FIELD((env)->global_dots, -1, PACMAN_PELLETS) FIELD((env)->idle_timer, 0, 30) \
    FIELD((env)->steps, 0, (env)->max_steps - 1) FIELD((env)->episode_return, -FLT_MAX, FLT_MAX) \
    FIELD((env)->ghosts_eaten, 0, (env)->max_steps) FIELD((env)->pellets_eaten, 0, (env)->max_steps) \
    FIELD((env)->levels_cleared, 0, (env)->max_steps)
#define STATE_CHECK pacman_check_state
#include "vecenv.h"

// Can ghost g stand on (x, y) in its state? Waiting ghosts in the house, leaving ones in the house or the door
// column, eyes going in on the door column above the house's middle row, the others in the corridors.
static int pacman_ghost_fits(const Pacman* env, int g) {
    int x = env->ghost_x[g], y = env->ghost_y[g], tile = env->tiles[y * PACMAN_W + x];
    switch (env->ghost_state[g]) {
        case GHOST_HOUSE: return tile == TILE_HOUSE;
        case GHOST_LEAVING: return tile == TILE_HOUSE || (x == PACMAN_DOOR_X && tile == TILE_DOOR);
        case GHOST_ENTERING: return x == PACMAN_DOOR_X && y >= PACMAN_EXIT_Y && y < PACMAN_HOUSE_Y;
        default: return tile == TILE_OPEN;
    }
}

static int pacman_check_state(const Env* env, char* error, int size) {
    unsigned char blocks[PACMAN_BLOCKS] = {0};
    int count = 0;
    for (int y = 0; y < PACMAN_H; y++)
        for (int x = 0; x < PACMAN_W; x++) {
            int pellet = env->pellets[y * PACMAN_W + x];
            char c = PACMAN_MAZE[y][x];
            if (pellet && pellet != (c == '.' ? 1 : c == 'o' ? 2 : 0)) {
                snprintf(error, size, "pellet %d at (%d, %d), where the maze has none of that kind", pellet, x, y);
                return -1;
            }
            count += pellet != 0;
            blocks[pacman_block(x, y)] += pellet != 0;
        }
    if (count != env->pellets_left || memcmp(blocks, env->block_pellets, sizeof blocks) != 0) {
        snprintf(error, size, "pellets_left = %d or the block counts disagree with the %d pellets on the board",
                 env->pellets_left, count);
        return -1;
    }
    if (env->tiles[env->pac_y * PACMAN_W + env->pac_x] != TILE_OPEN) {
        snprintf(error, size, "Pac-Man at (%d, %d) is not in a corridor", env->pac_x, env->pac_y);
        return -1;
    }
    for (int g = 0; g < PACMAN_GHOSTS; g++)
        if (!pacman_ghost_fits(env, g)) {
            snprintf(error, size, "ghost %d at (%d, %d) cannot be there in state %d", g, env->ghost_x[g],
                     env->ghost_y[g], env->ghost_state[g]);
            return -1;
        }
    return 0;
}

#ifndef PUFFER_NO_PYTHON
// Test hooks (tests/test_ocean_pacman.py). Directions: 0 up, 1 left, 2 down, 3 right. Ghosts: 0 Blinky, 1 Pinky,
// 2 Inky, 3 Clyde; states: 0 in the house, 1 leaving, 2 outside, 3 eyes, 4 eyes entering the house.

// set_pacman(index, x, y, direction): put Pac-Man on a corridor tile, heading (and wishing) `direction`.
static PyObject* set_pacman(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    int x, y, dir;
    if (!PyArg_ParseTuple(args, "niii", &index, &x, &y, &dir)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    if (x < 0 || x >= PACMAN_W || y < 0 || y >= PACMAN_H || dir < 0 || dir > 3
            || env->tiles[y * PACMAN_W + x] != TILE_OPEN)
        return PyErr_Format(PyExc_ValueError, "set_pacman: (%d, %d) is not a corridor tile or direction %d is not "
                            "0-3", x, y, dir);
    env->pac_x = x;
    env->pac_y = y;
    env->pac_dir = env->intent = dir;
    pacman_observe(env);
    Py_RETURN_NONE;
}

// set_ghost(index, ghost, x, y, direction, state, frightened=0): place a ghost; its speed carry is cleared.
static PyObject* set_ghost(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    int g, x, y, dir, state, frightened = 0;
    if (!PyArg_ParseTuple(args, "niiiii|i", &index, &g, &x, &y, &dir, &state, &frightened)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    if (g < 0 || g >= PACMAN_GHOSTS || x < 0 || x >= PACMAN_W || y < 0 || y >= PACMAN_H || dir < 0 || dir > 3
            || state < 0 || state >= GHOST_NUM_STATES || frightened < 0 || frightened > 1)
        return PyErr_Format(PyExc_ValueError, "set_ghost: ghost 0-3, (x, y) on the maze, direction 0-3, state 0-4 "
                            "and frightened 0/1 expected");
    Pacman copy = *env;
    copy.ghost_x[g] = x;
    copy.ghost_y[g] = y;
    copy.ghost_state[g] = state;
    if (!pacman_ghost_fits(&copy, g))
        return PyErr_Format(PyExc_ValueError, "set_ghost: a ghost in state %d cannot stand on (%d, %d)", state, x, y);
    env->ghost_x[g] = x;
    env->ghost_y[g] = y;
    env->ghost_dir[g] = dir;
    env->ghost_state[g] = state;
    env->ghost_frightened[g] = frightened;
    env->ghost_reverse[g] = 0;
    env->ghost_acc[g] = 0;
    pacman_observe(env);
    Py_RETURN_NONE;
}

// set_pellet(index, x, y, kind): 0 removes the pellet of a pellet tile, 1 or 2 puts back the maze's own kind there.
// The last pellet cannot be removed (a cleared board is replaced within the step that clears it).
static PyObject* set_pellet(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    int x, y, kind;
    if (!PyArg_ParseTuple(args, "niii", &index, &x, &y, &kind)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    char c = (x >= 0 && x < PACMAN_W && y >= 0 && y < PACMAN_H) ? PACMAN_MAZE[y][x] : '#';
    int maze_kind = c == '.' ? 1 : c == 'o' ? 2 : 0;
    int cell = y * PACMAN_W + x;
    if (maze_kind == 0 || (kind != 0 && kind != maze_kind)
            || (kind == 0 && env->pellets[cell] && env->pellets_left == 1))
        return PyErr_Format(PyExc_ValueError, "set_pellet: (%d, %d) is not a tile of pellet kind %d, or it holds "
                            "the last pellet", x, y, kind);
    int had = env->pellets[cell] != 0;
    env->pellets[cell] = (unsigned char)kind;
    env->pellets_left += (kind != 0) - had;
    env->block_pellets[pacman_block(x, y)] += (kind != 0) - had;
    pacman_observe(env);
    Py_RETURN_NONE;
}

// set_timers(index, phase, phase_timer, fright_timer): the scatter/chase phase (even scatter, odd chase), the steps
// spent in it, and the frightened steps left (ghosts' frightened flags are left as they are).
static PyObject* set_timers(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    int phase, timer, fright;
    if (!PyArg_ParseTuple(args, "niii", &index, &phase, &timer, &fright)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    if (phase < 0 || phase > 7 || timer < 0 || timer > 7777 || fright < 0 || fright > PACMAN_MAX_FRIGHT)
        return PyErr_Format(PyExc_ValueError, "set_timers: phase 0-7, phase_timer 0-7777, fright_timer 0-%d",
                            PACMAN_MAX_FRIGHT);
    env->phase = phase;
    env->phase_timer = timer;
    env->fright_timer = fright;
    pacman_observe(env);
    Py_RETURN_NONE;
}

// ghost_targets(index) -> [(x, y)] * 4: the tile each ghost steers for now (as if it were outside the house).
static PyObject* ghost_targets(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "n", &index)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    PyObject* list = PyList_New(PACMAN_GHOSTS);
    for (int g = 0; list != NULL && g < PACMAN_GHOSTS; g++) {
        int tx, ty;
        pacman_target(env, g, &tx, &ty);
        PyList_SET_ITEM(list, g, Py_BuildValue("(ii)", tx, ty));
    }
    return list;
}

// get_state(index) -> dict: Pac-Man, ghosts (x, y, direction, state, frightened), score, lives, level, timers.
static PyObject* get_state(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "n", &index)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    PyObject* ghosts = PyList_New(PACMAN_GHOSTS);
    for (int g = 0; ghosts != NULL && g < PACMAN_GHOSTS; g++)
        PyList_SET_ITEM(ghosts, g, Py_BuildValue("(iiiii)", env->ghost_x[g], env->ghost_y[g], env->ghost_dir[g],
                                                 env->ghost_state[g], env->ghost_frightened[g]));
    if (ghosts == NULL) return NULL;
    return Py_BuildValue("{s:(iii),s:N,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "pacman", env->pac_x, env->pac_y,
                         env->pac_dir, "ghosts", ghosts, "score", env->score, "lives", env->lives_left, "level",
                         env->level, "pellets_left", env->pellets_left, "phase", env->phase, "fright_timer",
                         env->fright_timer, "combo", env->combo, "steps", env->steps);
}
#endif
