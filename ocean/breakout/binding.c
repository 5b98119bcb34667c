#include "breakout.h"
#define Env Breakout
#define ENV_NAME breakout
#define DESCRIPTION "Atari-style Breakout: 6x18 bricks worth 1/4/7 points, two walls, 864 points for a perfect game"
#define PARAMS(INT, FLOAT) \
    INT(frameskip, 4, 1, 16) INT(balls, 5, 1, 100) INT(max_steps, 27000, 1, 1000000000) \
    FLOAT(paddle_reward, 0.1, 0.0f, 10.0f)
#define NUM_AGENTS 1
#define OBS_SIZE(env) BREAKOUT_OBS_SIZE
#define OBS_LOW(env, i) -1
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) 4
#define MY_METHODS(X) X(set_ball)
// Saved and checked by snapshot()/restore(): the ball inside the field at most SPEED_MAX fast, the paddle inside
// it, counters within their limits; breakout_check_state: bricks_left counts the standing bricks.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->bricks, 0, 1) FIELD((env)->bricks_left, 0, BREAKOUT_BRICKS) FIELD((env)->wall, 0, 1) \
    FIELD((env)->rebuild_pending, 0, 1) FIELD((env)->balls_left, 1, (env)->balls) FIELD((env)->in_play, 0, 1) \
    FIELD((env)->serve_timer, 0, BREAKOUT_SERVE_DELAY - 1) FIELD((env)->paddle_hits, 0, 1000000000) \
    FIELD((env)->hit_orange, 0, 1) FIELD((env)->hit_red, 0, 1) \
    FIELD((env)->speed, BREAKOUT_SPEED_START, BREAKOUT_SPEED_MAX) FIELD((env)->paddle_bonus, -FLT_MAX, FLT_MAX) \
    FIELD((env)->paddle_w, 0.5f * BREAKOUT_PADDLE_W, BREAKOUT_PADDLE_W) \
    FIELD((env)->paddle_x, 0, BREAKOUT_FIELD_W - (env)->paddle_w) \
    FIELD((env)->ball_x, 0, BREAKOUT_FIELD_W - BREAKOUT_BALL) \
    FIELD((env)->ball_y, 0, BREAKOUT_FIELD_H - BREAKOUT_BALL) \
    FIELD((env)->ball_vx, -BREAKOUT_SPEED_MAX, BREAKOUT_SPEED_MAX) \
    FIELD((env)->ball_vy, -BREAKOUT_SPEED_MAX, BREAKOUT_SPEED_MAX) \
    FIELD((env)->score, 0, 2 * BREAKOUT_WALL_POINTS) FIELD((env)->steps, 0, (env)->max_steps - 1) \
    FIELD((env)->episode_return, -FLT_MAX, FLT_MAX)
#define STATE_CHECK breakout_check_state
#include "vecenv.h"

static int breakout_check_state(const Env* env, char* error, int size) {
    int standing = 0;
    for (int i = 0; i < BREAKOUT_BRICKS; i++) standing += env->bricks[i];
    if (standing != env->bricks_left) {
        snprintf(error, size, "bricks_left = %d but %d bricks stand", env->bricks_left, standing);
        return -1;
    }
    return 0;
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
