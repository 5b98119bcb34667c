#include "warehouse.h"
#define Env Warehouse
#define ENV_NAME warehouse
#define DESCRIPTION "Multi-robot warehouse (RWARE rules): " PUFFER_STR(WAREHOUSE_ROBOTS) \
    " robots fetch requested shelves to the goals and return them"
#define PARAMS(INT, FLOAT) \
    INT(shelf_columns, 3, 3, 15) INT(column_height, 8, 1, 16) INT(shelf_rows, 1, 1, 8) \
    INT(request_queue, WAREHOUSE_ROBOTS, 1, warehouse_count_shelves(env) - 1) INT(sensor_range, 1, 1, 5) \
    INT(max_steps, 500, 1, 1000000) INT(global_reward, 0, 0, 1) FLOAT(reward_pickup, 0.0, 0.0f, 1.0f)
#define NUM_AGENTS WAREHOUSE_ROBOTS
#define OBS_SIZE(env) warehouse_obs_size(env)
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) WH_NUM_ACTIONS
#define MY_METHODS(X) X(set_robot) X(set_requests) X(get_state)
#define TEXT_SIZE 16384   // the largest warehouse, 46 x 138 cells
// Saved and checked by snapshot()/restore(); warehouse_check_state checks that robots, shelves and requests agree.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->robot_cell, 0, (env)->cells - 1) FIELD((env)->robot_dir, 0, 3) \
    FIELD((env)->robot_load, 0, (env)->num_shelves) FIELD((env)->robot_deliveries, 0, 2 * (env)->max_steps) \
    FIELD((env)->robot_return, -FLT_MAX, FLT_MAX) ARRAY((env)->shelf_cell, (env)->num_shelves, 0, (env)->cells - 1) \
    ARRAY((env)->cell_shelf, (env)->cells, 0, (env)->num_shelves) ARRAY((env)->requested, (env)->num_shelves, 0, 1) \
    ARRAY((env)->picked, (env)->num_shelves, 0, 1) \
    ARRAY((env)->requests, (env)->request_queue, 0, (env)->num_shelves - 1) \
    FIELD((env)->deliveries, 0, 2 * (env)->max_steps) FIELD((env)->steps, 0, (env)->max_steps - 1)
#define STATE_CHECK warehouse_check_state
#include "vecenv.h"

// Robots on distinct cells; shelf_cell and cell_shelf are inverse maps; a loaded robot holds a shelf at its own cell
// and no other robot holds it; a shelf no robot holds stands on a shelf cell; the queue holds distinct shelves and
// `requested` marks exactly those.
static int warehouse_check_state(const Env* env, char* error, int size) {
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++)
        for (int k = 0; k < i; k++)
            if (env->robot_cell[i] == env->robot_cell[k]) {
                snprintf(error, size, "robots %d and %d share cell %d", k, i, env->robot_cell[i]);
                return -1;
            }
    for (int c = 0; c < env->cells; c++) {
        int s = env->cell_shelf[c];
        if (s && env->shelf_cell[s - 1] != c) {
            snprintf(error, size, "cell %d holds shelf %d, which is at cell %d", c, s - 1, env->shelf_cell[s - 1]);
            return -1;
        }
    }
    for (int s = 0; s < env->num_shelves; s++) {
        int c = env->shelf_cell[s], holder = -1;
        if (env->cell_shelf[c] != s + 1) {
            snprintf(error, size, "shelf %d is at cell %d, which does not hold it", s, c);
            return -1;
        }
        for (int i = 0; i < WAREHOUSE_ROBOTS; i++)
            if (env->robot_load[i] == s + 1) {
                if (holder >= 0 || env->robot_cell[i] != c) {
                    snprintf(error, size, "shelf %d is held by two robots or away from its robot", s);
                    return -1;
                }
                holder = i;
            }
        if (holder < 0 && env->highway[c]) {
            snprintf(error, size, "shelf %d stands on corridor cell %d", s, c);
            return -1;
        }
    }
    int count = 0;
    for (int s = 0; s < env->num_shelves; s++) count += env->requested[s];
    for (int r = 0; r < env->request_queue; r++) {
        int ok = env->requested[env->requests[r]];
        for (int k = 0; k < r; k++) ok &= env->requests[k] != env->requests[r];
        if (!ok) {
            snprintf(error, size, "request %d (shelf %d) is repeated or not marked requested", r, env->requests[r]);
            return -1;
        }
    }
    if (count != env->request_queue) {
        snprintf(error, size, "%d shelves are marked requested; the queue holds %d", count, env->request_queue);
        return -1;
    }
    return 0;
}

#ifndef PUFFER_NO_PYTHON
// Test hooks (tests/test_ocean_warehouse.py). Directions: 0 up, 1 left, 2 down, 3 right.

// set_robot(index, robot, x, y, direction, load=-1): put a robot on a free cell. load = a shelf index picks that
// shelf up there (it must stand on (x, y) already, or be the robot's own); -1 leaves the robot's load as it is
// (its carried shelf moves with it, onto a cell without another shelf).
static PyObject* set_robot(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    int i, x, y, dir, load = -1;
    if (!PyArg_ParseTuple(args, "niiii|i", &index, &i, &x, &y, &dir, &load)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    int cell = y * env->width + x, ok = i >= 0 && i < WAREHOUSE_ROBOTS && x >= 0 && y >= 0 && x < env->width
                                       && y < env->height && dir >= 0 && dir < 4 && load >= -1
                                       && load < env->num_shelves;
    for (int k = 0; ok && k < WAREHOUSE_ROBOTS; k++) ok = k == i || env->robot_cell[k] != cell;
    int carried = ok ? env->robot_load[i] : 0, there = ok ? env->cell_shelf[cell] : 0;
    if (ok && load >= 0) ok = there == load + 1 && (carried == 0 || carried == load + 1);
    if (ok && load < 0 && carried) ok = there == 0 || there == carried;
    if (!ok)
        return PyErr_Format(PyExc_ValueError, "set_robot: robot 0-%d, a free cell, direction 0-3, and a load that "
                            "stands there (or none, with room for the carried shelf)", WAREHOUSE_ROBOTS - 1);
    if (load < 0 && carried) {
        env->cell_shelf[env->shelf_cell[carried - 1]] = 0;
        env->shelf_cell[carried - 1] = cell;
        env->cell_shelf[cell] = carried;
    }
    if (load >= 0) env->robot_load[i] = load + 1;
    env->robot_cell[i] = cell;
    env->robot_dir[i] = dir;
    warehouse_observe(env);
    Py_RETURN_NONE;
}

// set_requests(index, shelves): replace the request queue by request_queue distinct shelf indices.
static PyObject* set_requests(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    PyObject* sequence;
    if (!PyArg_ParseTuple(args, "nO", &index, &sequence)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    PyObject* items = PySequence_Fast(sequence, "set_requests: shelves must be a sequence of ints");
    if (items == NULL) return NULL;
    int ok = PySequence_Fast_GET_SIZE(items) == env->request_queue, shelves[4096];
    for (Py_ssize_t r = 0; ok && r < env->request_queue && r < 4096; r++) {
        long s = PyLong_AsLong(PySequence_Fast_GET_ITEM(items, r));
        ok = s >= 0 && s < env->num_shelves;
        for (Py_ssize_t k = 0; ok && k < r; k++) ok = shelves[k] != s;
        shelves[r] = (int)s;
    }
    Py_DECREF(items);
    if (!ok) {
        PyErr_Clear();
        return PyErr_Format(PyExc_ValueError, "set_requests: expected %d distinct shelf indices in [0, %d)",
                            env->request_queue, env->num_shelves);
    }
    memset(env->requested, 0, (size_t)env->num_shelves);
    memset(env->picked, 0, (size_t)env->num_shelves);
    for (int r = 0; r < env->request_queue; r++) {
        env->requests[r] = shelves[r];
        env->requested[shelves[r]] = 1;
    }
    warehouse_observe(env);
    Py_RETURN_NONE;
}

// get_state(index) -> dict: width, height, goals [(x, y)], robots [(x, y, direction, load or -1)], shelves
// [(x, y)] by index, requests [shelf], deliveries, steps.
static PyObject* get_state(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "n", &index)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    int w = env->width;
    PyObject* robots = PyList_New(WAREHOUSE_ROBOTS);
    PyObject* shelves = PyList_New(env->num_shelves);
    PyObject* requests = PyList_New(env->request_queue);
    if (robots == NULL || shelves == NULL || requests == NULL) goto fail;
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++)
        PyList_SET_ITEM(robots, i, Py_BuildValue("(iiii)", env->robot_cell[i] % w, env->robot_cell[i] / w,
                                                 env->robot_dir[i], env->robot_load[i] - 1));
    for (int s = 0; s < env->num_shelves; s++)
        PyList_SET_ITEM(shelves, s, Py_BuildValue("(ii)", env->shelf_cell[s] % w, env->shelf_cell[s] / w));
    for (int r = 0; r < env->request_queue; r++) PyList_SET_ITEM(requests, r, PyLong_FromLong(env->requests[r]));
    return Py_BuildValue("{s:i,s:i,s:[(ii),(ii)],s:N,s:N,s:N,s:i,s:i}", "width", w, "height", env->height, "goals",
                         env->goal[0] % w, env->goal[0] / w, env->goal[1] % w, env->goal[1] / w, "robots", robots,
                         "shelves", shelves, "requests", requests, "deliveries", env->deliveries, "steps", env->steps);
fail:
    Py_XDECREF(robots);
    Py_XDECREF(shelves);
    Py_XDECREF(requests);
    return NULL;
}
#endif
