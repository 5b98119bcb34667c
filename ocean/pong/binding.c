#include "pong.h"
#define Env Pong
#define ENV_NAME pong
#define DESCRIPTION "Pong against a scripted paddle that follows the ball at a limited speed"
// opponent: 0 the scripted paddle, 1 a second agent row (ocean/README.md, "Two-player games")
#define PARAMS(INT, FLOAT) \
    INT(opponent, 0, 0, 1) INT(frameskip, 4, 1, 16) INT(points_to_win, 21, 1, 1000) \
    FLOAT(opponent_speed, 2.0, 0.0f, 20.0f) INT(max_steps, 10000, 1, 1000000000)
#define NUM_AGENTS 1
#define AGENTS(env) (1 + (env)->opponent)
#define OBS_SIZE(env) PONG_OBS_SIZE
#define OBS_LOW(env, i) -1
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) 3
#define MY_METHODS(X) X(set_ball)
// Saved and checked by snapshot()/restore(): paddles and ball inside the field (the ball may be past a paddle, not
// yet out), speeds within their maxima, points below points_to_win, steps below max_steps.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->agent_y, 0, PONG_H - PONG_PADDLE_H) FIELD((env)->opponent_y, 0, PONG_H - PONG_PADDLE_H) \
    FIELD((env)->ball_x, -PONG_BALL, PONG_W) FIELD((env)->ball_y, 0, PONG_H - PONG_BALL) \
    FIELD((env)->ball_vx, -PONG_MAX_VX, PONG_MAX_VX) FIELD((env)->ball_vy, -PONG_MAX_VY, PONG_MAX_VY) \
    FIELD((env)->agent_points, 0, (env)->points_to_win - 1) \
    FIELD((env)->opponent_points, 0, (env)->points_to_win - 1) FIELD((env)->steps, 0, (env)->max_steps - 1) \
    FIELD((env)->episode_return, -FLT_MAX, FLT_MAX)
#include "vecenv.h"

#ifndef PUFFER_NO_PYTHON
// set_ball(index, x, y, vx, vy): move the ball (pixels, pixels per frame), for tests.
static PyObject* set_ball(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    float x, y, vx, vy;
    if (!PyArg_ParseTuple(args, "nffff", &index, &x, &y, &vx, &vy)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    if (!(x >= 0.0f && x <= PONG_W - PONG_BALL && y >= 0.0f && y <= PONG_H - PONG_BALL)
            || fabsf(vx) > PONG_MAX_VX || fabsf(vy) > PONG_MAX_VY) {
        PyErr_SetString(PyExc_ValueError, "set_ball: the ball must lie inside the field and move at most MAX_VX/VY");
        return NULL;
    }
    env->ball_x = x;
    env->ball_y = y;
    env->ball_vx = vx;
    env->ball_vy = vy;
    pong_write_obs(env);
    Py_RETURN_NONE;
}
#endif
