#include "enduro.h"
#define Env Enduro
#define ENV_NAME enduro
#define DESCRIPTION "Atari-style Enduro: pass 200 cars on day 1 and 300 on each later day, through snow, night and fog"
#define PARAMS(INT, FLOAT) \
    ALE_PARAMS(INT, FLOAT) INT(day_frames, 12000, 100, 1000000) INT(max_days, 10, 1, 1000) \
    FLOAT(reward_speed, 0.0, 0.0f, 1.0f)
#define NUM_AGENTS 1
#define OBS_SIZE(env) ENDURO_OBS
#define OBS_LOW(env, i) ((i) == 0 || ((i) >= 4 && (i) < 8) ? 0 : -1)
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) ENDURO_NUM_ACTIONS
#define MY_METHODS(X) X(set_state)
// Saved and checked by snapshot()/restore(): every field has its range.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->x, -1.0f, 1.0f) FIELD((env)->v, 0.0f, ENDURO_VMAX) FIELD((env)->slide, -0.05f, 0.05f) \
    FIELD((env)->car_z, ENDURO_BEHIND, ENDURO_AHEAD) FIELD((env)->car_x, -0.6f, 0.6f) \
    FIELD((env)->car_v, 0.3f, 0.6f) FIELD((env)->curve, -1.0f, 1.0f) FIELD((env)->curve_frames, 0, 600) \
    FIELD((env)->last_action, 0, ENDURO_NUM_ACTIONS - 1) FIELD((env)->frame, 0, (env)->day_frames - 1) \
    FIELD((env)->day, 0, (env)->max_days - 1) FIELD((env)->day_passed, 0, (env)->day_frames * ENDURO_CARS) \
    FIELD((env)->score, 0, (env)->max_days * (env)->day_frames * ENDURO_CARS) \
    FIELD((env)->collisions, 0, (env)->max_days * (env)->day_frames * ENDURO_CARS) \
    FIELD((env)->episode_return, -1e9f, 1e9f)
#include "vecenv.h"

#ifndef PUFFER_NO_PYTHON
// set_state(index, x, v, cars, frame=0, day=0, day_passed=0, curve=0.0): the player's sideways position and speed,
// the cars as [(z, x, speed), ...] (8 of them; x one of -0.6, 0, 0.6 or between; speed 0.3-0.6), the frame of the
// day, the day (0-based), the net cars passed today and the road's curve.
static PyObject* set_state(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    float x, v, curve = 0.0f;
    int frame = 0, day = 0, day_passed = 0;
    PyObject* cars;
    if (!PyArg_ParseTuple(args, "nffO|iiif", &index, &x, &v, &cars, &frame, &day, &day_passed, &curve)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    PyObject* items = PySequence_Fast(cars, "set_state: cars must be a sequence of (z, x, speed)");
    if (items == NULL) return NULL;
    float z[ENDURO_CARS], cx[ENDURO_CARS], cv[ENDURO_CARS];
    int ok = PySequence_Fast_GET_SIZE(items) == ENDURO_CARS;
    for (int i = 0; ok && i < ENDURO_CARS; i++) {
        ok = PyArg_ParseTuple(PySequence_Fast_GET_ITEM(items, i), "fff", &z[i], &cx[i], &cv[i]) && z[i] >= ENDURO_BEHIND
            && z[i] <= ENDURO_AHEAD && fabsf(cx[i]) <= 0.6f && cv[i] >= 0.3f && cv[i] <= 0.6f;
    }
    Py_DECREF(items);
    ok = ok && fabsf(x) <= 1.0f && v >= 0.0f && v <= ENDURO_VMAX && frame >= 0 && frame < env->day_frames && day >= 0
        && day < env->max_days && day_passed >= 0 && day_passed <= env->day_frames * ENDURO_CARS
        && fabsf(curve) <= 1.0f;
    if (!ok) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "set_state: x in [-1, 1], v in [0, 1], 8 cars (z in [-10, 160], x in "
                        "[-0.6, 0.6], speed in [0.3, 0.6]), frame, day and day_passed in range, curve in [-1, 1]");
        return NULL;
    }
    env->x = x;
    env->v = v;
    env->slide = 0.0f;
    memcpy(env->car_z, z, sizeof z);
    memcpy(env->car_x, cx, sizeof cx);
    memcpy(env->car_v, cv, sizeof cv);
    env->frame = frame;
    env->day = day;
    env->day_passed = day_passed;
    env->curve = curve;
    enduro_write_obs(env);
    Py_RETURN_NONE;
}
#endif
