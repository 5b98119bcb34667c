#include "breakout.h"
#define Env Breakout
#define ENV_NAME breakout
#define OBS_TYPE float
#define ACT_TYPE int
#define NUM_AGENTS 1
#define OBS_SIZE(env) BREAKOUT_OBS_SIZE
#define ACT_SIZE 1
#define MY_METHODS(X) X(set_ball)
#include "vecenv.h"

static int my_init(Env* env, PyObject* kwargs) {
    return unpack_int(kwargs, "frameskip", &env->frameskip, 1, 16)
        || unpack_int(kwargs, "balls", &env->balls, 1, 100)
        || unpack_int(kwargs, "max_steps", &env->max_steps, 1, 1000000000)
        || unpack_float(kwargs, "paddle_reward", &env->paddle_reward, 0.0f, 10.0f) ? -1 : 0;
}

static void my_log(Log* log, PyObject* dict) {
    log_add(dict, "walls_cleared", log->walls_cleared);
}

#ifndef PUFFER_NO_PYTHON
// set_ball(index, x, y, vx, vy): put the ball in play at a chosen place and velocity (pixels, pixels per frame).
static PyObject* set_ball(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    float x, y, vx, vy;
    if (!PyArg_ParseTuple(args, "nffff", &index, &x, &y, &vx, &vy)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    if (!(x >= 0.0f && x <= BREAKOUT_FIELD_W - BREAKOUT_BALL && y >= 0.0f && y <= BREAKOUT_FIELD_H - BREAKOUT_BALL)
            || fabsf(vx) > BREAKOUT_SPEED_MAX || fabsf(vy) > BREAKOUT_SPEED_MAX) {
        PyErr_SetString(PyExc_ValueError, "set_ball: the ball must lie inside the field and move at most SPEED_MAX");
        return NULL;
    }
    env->ball_x = x;
    env->ball_y = y;
    env->ball_vx = vx;
    env->ball_vy = vy;
    env->in_play = 1;
    breakout_write_header(env);
    Py_RETURN_NONE;
}
#endif
