#include "cartpole.h"
#define Env CartPole
#define ENV_NAME cartpole
#define DESCRIPTION "CartPole-v1 with Gymnasium-identical dynamics (discrete pushes; continuous=1 for a force)"
#define PARAMS(INT, FLOAT) \
    INT(continuous, 0, 0, 1) INT(max_steps, 500, 1, 1000000000)
#define NAMES(ENTRY, SET) ENTRY("puffer_cartpole", DESCRIPTION, ) \
    ENTRY("puffer_cartpole_continuous", "CartPole-v1 dynamics with a continuous force in [-1, 1] x 10 N", \
          SET(continuous, 1))
#define NUM_AGENTS 1
#define OBS_SIZE(env) 4
// Gymnasium's CartPole-v1 bounds: |x| <= 2 * 2.4, |theta| <= 2 * 12 degrees, velocities unbounded.
#define OBS_HIGH(env, i) \
    ((i) == 0 ? CARTPOLE_X_THRESHOLD * 2 : (i) == 2 ? CARTPOLE_THETA_THRESHOLD * 2 : (double)INFINITY)
#define OBS_LOW(env, i) (-OBS_HIGH(env, i))
#define ACT_SIZE 1
#define ACT_N(env, j) ((env)->continuous ? 0 : 2)
#define MY_METHODS(X) X(get_state) X(set_state)
// Between steps the pole is inside the termination thresholds (else the episode ended and reset); velocities are
// bounded far above any reachable value so that no loaded one overflows. action_scale/offset come from c_init.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->x, -CARTPOLE_X_THRESHOLD, CARTPOLE_X_THRESHOLD) FIELD((env)->x_dot, -1e6, 1e6) \
    FIELD((env)->theta, -CARTPOLE_THETA_THRESHOLD, CARTPOLE_THETA_THRESHOLD) FIELD((env)->theta_dot, -1e6, 1e6) \
    FIELD((env)->tick, 0, (env)->max_steps - 1)
#include "vecenv.h"

#ifndef PUFFER_NO_PYTHON
// get_state(index) -> (x, x_dot, theta, theta_dot, tick): the exact double state, for tests against Gymnasium.
static PyObject* get_state(PyObject* self, PyObject* args) {
    Env* env = vector_env_arg(self, args);
    if (env == NULL) return NULL;
    return Py_BuildValue("(ddddi)", env->x, env->x_dot, env->theta, env->theta_dot, env->tick);
}

// set_state(index, x, x_dot, theta, theta_dot, tick=0): overwrite the state and its observation row.
static PyObject* set_state(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    double x, x_dot, theta, theta_dot;
    int tick = 0;
    if (!PyArg_ParseTuple(args, "ndddd|i", &index, &x, &x_dot, &theta, &theta_dot, &tick)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    env->x = x;
    env->x_dot = x_dot;
    env->theta = theta;
    env->theta_dot = theta_dot;
    env->tick = tick;
    cartpole_observe(env);
    Py_RETURN_NONE;
}
#endif
