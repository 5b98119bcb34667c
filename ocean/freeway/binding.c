#include "freeway.h"
#define Env Freeway
#define ENV_NAME freeway
#define DESCRIPTION "Atari-style Freeway: a chicken crosses ten lanes of traffic for 2:16 of game time, +1 a crossing"
#define PARAMS(INT, FLOAT) \
    ALE_PARAMS(INT, FLOAT) INT(game_frames, 8160, 1, 10000000) INT(random_start, 1, 0, 1) \
    FLOAT(reward_progress, 0.0, 0.0f, 1.0f)
#define NUM_AGENTS 1
#define OBS_SIZE(env) FW_OBS
#define OBS_LOW(env, i) ((i) < 3 ? 0 : -1)
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) FW_NUM_ACTIONS
#define MY_METHODS(X) X(set_state)
// Saved and checked by snapshot()/restore(): every field has its range (the chicken between the finish line and
// its start, cars on the screen).
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->car_x, 0.0f, FW_SCREEN_W - 0.001f) FIELD((env)->chicken_y, FW_FINISH_Y + 1, FW_START_Y) \
    FIELD((env)->stun, 0, FW_STUN_FRAMES) FIELD((env)->last_action, 0, FW_NUM_ACTIONS - 1) \
    FIELD((env)->frame, 0, (env)->game_frames - 1) FIELD((env)->score, 0, (env)->game_frames) \
    FIELD((env)->hits, 0, (env)->game_frames) FIELD((env)->best_lane, 0, FW_LANES) \
    FIELD((env)->episode_return, 0.0f, (float)(env)->game_frames * (1.0f + FW_LANES))
#include "vecenv.h"

#ifndef PUFFER_NO_PYTHON
// set_state(index, chicken_y, cars, stun=0, frame=0): put the chicken's top edge at chicken_y (27..190) and the
// cars' left edges at cars (10 numbers in [0, 160), lane 0 at the bottom).
static PyObject* set_state(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    int chicken_y, stun = 0, frame = 0;
    PyObject* cars;
    if (!PyArg_ParseTuple(args, "niO|ii", &index, &chicken_y, &cars, &stun, &frame)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    PyObject* items = PySequence_Fast(cars, "set_state: cars must be a sequence of 10 numbers");
    if (items == NULL) return NULL;
    float x[FW_LANES];
    int ok = PySequence_Fast_GET_SIZE(items) == FW_LANES;
    for (int lane = 0; ok && lane < FW_LANES; lane++) {
        x[lane] = (float)PyFloat_AsDouble(PySequence_Fast_GET_ITEM(items, lane));
        ok = !PyErr_Occurred() && x[lane] >= 0.0f && x[lane] < FW_SCREEN_W;
    }
    Py_DECREF(items);
    ok = ok && chicken_y > FW_FINISH_Y && chicken_y <= FW_START_Y && stun >= 0 && stun <= FW_STUN_FRAMES
        && frame >= 0 && frame < env->game_frames;
    if (!ok) {
        PyErr_Clear();
        return PyErr_Format(PyExc_ValueError, "set_state: chicken_y in [%d, %d], 10 cars in [0, 160), stun in [0, %d] "
                            "and frame in [0, game_frames) expected", FW_FINISH_Y + 1, FW_START_Y, FW_STUN_FRAMES);
    }
    memcpy(env->car_x, x, sizeof x);
    env->chicken_y = chicken_y;
    env->best_lane = fw_lanes_climbed(chicken_y);
    env->stun = stun;
    env->frame = frame;
    fw_write_obs(env);
    Py_RETURN_NONE;
}
#endif
