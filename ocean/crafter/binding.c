#include "crafter.h"
#define Env Crafter
#define ENV_NAME crafter
#define DESCRIPTION "Crafter-style open-ended survival: gather, craft tools, survive mobs and night; 22 achievements"
#define PARAMS(INT, FLOAT) INT(size, 64, 16, CR_MAX_SIZE) INT(max_steps, 10000, 1, 1000000000) INT(onehot, 1, 0, 1)
#define NUM_AGENTS 1
#define OBS_SIZE(env) cr_obs_size(env)
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) cr_obs_high(env, i)
#define ACT_SIZE 1
#define ACT_N(env, j) CR_NUM_ACTIONS
#define MY_METHODS(X) X(fill) X(set_cell) X(set_object) X(set_player) X(set_inventory) X(set_steps) \
    X(get_player) X(get_objects)
// Saved and checked by snapshot()/restore(); cr_check_state checks what ranges cannot: the world and its void
// border, the object table against objmap, and that everyone stands where they may.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->map, 0, CR_NUM_MATERIALS - 1) FIELD((env)->objmap, 0, CR_MAX_OBJECTS) \
    FIELD((env)->num_objects, 0, CR_MAX_OBJECTS) FIELD((env)->obj_cell, 0, CR_CELLS - 1) \
    FIELD((env)->obj_type, 0, CR_NUM_OBJECTS - 1) FIELD((env)->obj_health, -8, 5) \
    FIELD((env)->obj_timer, 0, CR_PLANT_MAX) FIELD((env)->obj_dir, 0, 3) FIELD((env)->player_cell, 0, CR_CELLS - 1) \
    FIELD((env)->facing, 0, 3) FIELD((env)->sleeping, 0, 1) FIELD((env)->inventory, 0, CR_MAX_ITEM) \
    FIELD((env)->achieved, 0, 1) FIELD((env)->hunger, 0, 50) FIELD((env)->thirst, 0, 40) \
    FIELD((env)->recover, -30, 50) FIELD((env)->fatigue, -10, 30) FIELD((env)->last_health, 0, CR_MAX_ITEM) \
    FIELD((env)->reward_health, 0, CR_MAX_ITEM) FIELD((env)->steps, 0, (env)->max_steps - 1) \
    FIELD((env)->episode_return, -1e9, 1e9) FIELD((env)->daylight, 0, 1)
#define STATE_CHECK cr_check_state
#include "vecenv.h"

static int cr_inside(const Env* env, int cell) {
    int x = cr_x(cell), y = cr_y(cell);
    return x >= 0 && y >= 0 && x < env->size && y < env->size;
}

static int cr_check_state(const Env* env, char* error, int size) {
    for (int cell = 0; cell < CR_CELLS; cell++) {
        int inside = cr_inside(env, cell);
        if (inside == (env->map[cell] == CR_VOID)) {
            snprintf(error, size, "cell (%d, %d) %s void", cr_x(cell), cr_y(cell), inside ? "is" : "is not");
            return -1;
        }
        int slot = env->objmap[cell] - 1;
        if (slot >= 0 && (slot >= env->num_objects || env->obj_cell[slot] != cell)) {
            snprintf(error, size, "cell (%d, %d) names object %d, which is not there", cr_x(cell), cr_y(cell), slot);
            return -1;
        }
    }
    if (!cr_inside(env, env->player_cell) || !cr_walkable[env->map[env->player_cell]]
            || env->objmap[env->player_cell]) {
        snprintf(error, size, "the player stands on cell %d, which is not a free walkable cell", env->player_cell);
        return -1;
    }
    for (int slot = 0; slot < env->num_objects; slot++) {
        int cell = env->obj_cell[slot], type = env->obj_type[slot];
        const unsigned char* allowed = type == CR_ARROW ? cr_arrow_free : cr_walkable;
        if (type == CR_NO_OBJECT || !cr_inside(env, cell) || env->objmap[cell] != slot + 1 || env->obj_health[slot] < 1
                || !allowed[env->map[cell]]) {
            snprintf(error, size, "object %d (type %d, health %d) is not on a free cell it may stand on", slot, type,
                     env->obj_health[slot]);
            return -1;
        }
    }
    return 0;
}

#ifndef PUFFER_NO_PYTHON
// Test setup on env `index` (each rewrites its observation): fill(index, material) makes every world cell that
// material and removes every object; set_cell(index, x, y, material); set_object(index, x, y, kind[, timer]) puts
// a cow (1), zombie (2), skeleton (3), arrow (4, timer = direction) or plant (5, timer = growth) on a free cell, or
// removes the object there (kind 0); set_player(index, x, y, facing); set_inventory(index, [16 counts]) (health
// changes it makes earn no reward); set_steps(index, steps) sets the clock; get_player(index) -> dict;
// get_objects(index) -> [(kind, x, y, health, timer)].

static Env* cr_hook_env(PyObject* self, Py_ssize_t index) {
    Env* env = vector_env(self, index);
    if (env != NULL && !((VectorObject*)self)->vec.ready) {
        PyErr_SetString(PyExc_RuntimeError, "crafter: call reset() before the test hooks");
        return NULL;
    }
    return env;
}

static int cr_hook_cell(Env* env, long x, long y) {
    if (x < 0 || y < 0 || x >= env->size || y >= env->size) {
        PyErr_Format(PyExc_ValueError, "crafter: cell (%ld, %ld) is outside the %d x %d world", x, y, env->size,
                     env->size);
        return -1;
    }
    return cr_cell((int)x, (int)y);
}

static PyObject* fill(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    int material;
    if (!PyArg_ParseTuple(args, "ni", &index, &material)) return NULL;
    Env* env = cr_hook_env(self, index);
    if (env == NULL) return NULL;
    if (material < 1 || material >= CR_NUM_MATERIALS || !cr_walkable[material])
        return PyErr_Format(PyExc_ValueError, "crafter: fill needs a walkable material (grass 2, path 4, sand 5)");
    for (int y = 0; y < env->size; y++) memset(env->map + cr_cell(0, y), material, (size_t)env->size);
    memset(env->objmap, 0, sizeof(env->objmap));
    env->num_objects = 0;
    cr_write_obs(env);
    Py_RETURN_NONE;
}

static PyObject* set_cell(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    long x, y;
    int material;
    if (!PyArg_ParseTuple(args, "nlli", &index, &x, &y, &material)) return NULL;
    Env* env = cr_hook_env(self, index);
    if (env == NULL) return NULL;
    int cell = cr_hook_cell(env, x, y);
    if (cell < 0) return NULL;
    int slot = env->objmap[cell] - 1;
    const unsigned char* allowed = slot >= 0 && env->obj_type[slot] == CR_ARROW ? cr_arrow_free : cr_walkable;
    if (material < 1 || material >= CR_NUM_MATERIALS || ((slot >= 0 || cell == env->player_cell)
                                                          && !allowed[material]))
        return PyErr_Format(PyExc_ValueError, "crafter: material %d is not in [1, %d] or cannot hold what stands "
                            "on (%ld, %ld)", material, CR_NUM_MATERIALS - 1, x, y);
    env->map[cell] = (unsigned char)material;
    cr_write_obs(env);
    Py_RETURN_NONE;
}

static PyObject* set_object(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    long x, y;
    int kind, timer = 0;
    if (!PyArg_ParseTuple(args, "nlli|i", &index, &x, &y, &kind, &timer)) return NULL;
    Env* env = cr_hook_env(self, index);
    if (env == NULL) return NULL;
    int cell = cr_hook_cell(env, x, y);
    if (cell < 0) return NULL;
    if (kind == CR_NO_OBJECT) {
        if (env->objmap[cell]) {
            cr_remove_object(env, env->objmap[cell] - 1);
            cr_compact_objects(env);
        }
        cr_write_obs(env);
        Py_RETURN_NONE;
    }
    const unsigned char* allowed = kind == CR_ARROW ? cr_arrow_free : cr_walkable;
    int timer_high = kind == CR_ARROW ? 3 : kind == CR_PLANT ? CR_PLANT_MAX : 5;
    if (kind < 0 || kind >= CR_NUM_OBJECTS || timer < 0 || timer > timer_high || env->objmap[cell]
            || cell == env->player_cell || !allowed[env->map[cell]])
        return PyErr_Format(PyExc_ValueError, "crafter: cannot put object kind %d (timer %d) on (%ld, %ld): kinds "
                            "are 0-5, the cell must be free and suit it", kind, timer, x, y);
    static const int health[CR_NUM_OBJECTS] = {0, 3, 5, 3, 1, 1};
    int slot = cr_add_object(env, kind, cell, health[kind]);
    if (slot < 0) return PyErr_Format(PyExc_ValueError, "crafter: the world holds %d objects already", CR_MAX_OBJECTS);
    if (kind == CR_ARROW) env->obj_dir[slot] = timer;
    else env->obj_timer[slot] = timer;
    cr_write_obs(env);
    Py_RETURN_NONE;
}

static PyObject* set_player(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    long x, y;
    int facing;
    if (!PyArg_ParseTuple(args, "nlli", &index, &x, &y, &facing)) return NULL;
    Env* env = cr_hook_env(self, index);
    if (env == NULL) return NULL;
    int cell = cr_hook_cell(env, x, y);
    if (cell < 0) return NULL;
    if (facing < 0 || facing > 3 || !cr_walkable[env->map[cell]] || env->objmap[cell])
        return PyErr_Format(PyExc_ValueError, "crafter: the player needs a free grass, sand or path cell and a facing "
                            "in 0-3 (left, right, up, down)");
    env->player_cell = cell;
    env->facing = facing;
    cr_write_obs(env);
    Py_RETURN_NONE;
}

static PyObject* set_inventory(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    PyObject* sequence;
    if (!PyArg_ParseTuple(args, "nO", &index, &sequence)) return NULL;
    Env* env = cr_hook_env(self, index);
    if (env == NULL) return NULL;
    PyObject* items = PySequence_Fast(sequence, "crafter: set_inventory needs a sequence of 16 counts");
    if (items == NULL) return NULL;
    int counts[CR_NUM_ITEMS], ok = PySequence_Fast_GET_SIZE(items) == CR_NUM_ITEMS;
    for (int i = 0; ok && i < CR_NUM_ITEMS; i++) {
        long value = PyLong_AsLong(PySequence_Fast_GET_ITEM(items, i));
        ok = !PyErr_Occurred() && value >= 0 && value <= CR_MAX_ITEM;
        counts[i] = (int)value;
    }
    Py_DECREF(items);
    if (!ok) {
        PyErr_Clear();
        return PyErr_Format(PyExc_ValueError, "crafter: set_inventory needs 16 counts in [0, %d]", CR_MAX_ITEM);
    }
    memcpy(env->inventory, counts, sizeof(counts));
    env->last_health = env->reward_health = counts[CR_HEALTH];
    cr_write_obs(env);
    Py_RETURN_NONE;
}

static PyObject* set_steps(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    int steps;
    if (!PyArg_ParseTuple(args, "ni", &index, &steps)) return NULL;
    Env* env = cr_hook_env(self, index);
    if (env == NULL) return NULL;
    if (steps < 0 || steps >= env->max_steps)
        return PyErr_Format(PyExc_ValueError, "crafter: steps must lie in [0, max_steps - 1 = %d]", env->max_steps - 1);
    env->steps = steps;
    env->daylight = cr_daylight(steps);
    cr_write_obs(env);
    Py_RETURN_NONE;
}

static PyObject* get_player(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "n", &index)) return NULL;
    Env* env = cr_hook_env(self, index);
    if (env == NULL) return NULL;
    PyObject* inventory = PyList_New(CR_NUM_ITEMS);
    PyObject* achievements = PyList_New(0);
    if (inventory == NULL || achievements == NULL) {
        Py_XDECREF(inventory);
        Py_XDECREF(achievements);
        return NULL;
    }
    for (int i = 0; i < CR_NUM_ITEMS; i++) PyList_SET_ITEM(inventory, i, PyLong_FromLong(env->inventory[i]));
#define CR_LIST_ACHIEVEMENT(name) \
    if (env->achieved[CR_A_##name]) { \
        PyObject* text = PyUnicode_FromString(#name); \
        if (text == NULL || PyList_Append(achievements, text)) { Py_XDECREF(text); goto fail; } \
        Py_DECREF(text); \
    }
    CR_ACHIEVEMENTS(CR_LIST_ACHIEVEMENT)
#undef CR_LIST_ACHIEVEMENT
    return Py_BuildValue("{s:i,s:i,s:i,s:i,s:N,s:N,s:i,s:d,s:i}", "x", cr_x(env->player_cell), "y",
                         cr_y(env->player_cell), "facing", env->facing, "sleeping", env->sleeping, "inventory",
                         inventory, "achievements", achievements, "steps", env->steps, "daylight",
                         (double)env->daylight, "material", env->map[env->player_cell]);
fail:
    Py_DECREF(inventory);
    Py_DECREF(achievements);
    return NULL;
}

static PyObject* get_objects(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "n", &index)) return NULL;
    Env* env = cr_hook_env(self, index);
    if (env == NULL) return NULL;
    PyObject* list = PyList_New(env->num_objects);
    if (list == NULL) return NULL;
    for (int slot = 0; slot < env->num_objects; slot++) {
        int timer = env->obj_type[slot] == CR_ARROW ? env->obj_dir[slot] : env->obj_timer[slot];
        PyObject* item = Py_BuildValue("(iiiii)", env->obj_type[slot], cr_x(env->obj_cell[slot]),
                                       cr_y(env->obj_cell[slot]), env->obj_health[slot], timer);
        if (item == NULL) { Py_DECREF(list); return NULL; }
        PyList_SET_ITEM(list, slot, item);
    }
    return list;
}
#endif
