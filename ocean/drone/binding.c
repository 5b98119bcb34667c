#include "drone.h"
#define Env Drone
#define ENV_NAME drone
#define DESCRIPTION "Fly a quadcopter to moving targets by setting its four rotor thrusts (rigid-body dynamics, 50 Hz)"
#define PARAMS(INT, FLOAT) \
    INT(max_steps, 1000, 1, 100000) FLOAT(arena, 5.0, 1.0f, 100.0f) FLOAT(target_speed, 0.5, 0.0f, 2.0f) \
    FLOAT(target_radius, 0.5, 0.05f, 10.0f) FLOAT(reward_reach, 1.0, 0.0f, 10.0f) \
    FLOAT(reward_distance, 0.1, 0.0f, 10.0f) FLOAT(reward_crash, -1.0, -10.0f, 0.0f)
#define NUM_AGENTS 1
#define OBS_SIZE(env) DRONE_OBS
#define OBS_LOW(env, i) -1
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 4
#define ACT_N(env, j) 0
#define MY_METHODS(X) X(set_state)
// Saved and checked by snapshot()/restore(): the position inside the arena, speeds under their caps, a quaternion
// of about unit length (drone_check_state), the target inside its box.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->pos, -(env)->arena, (env)->arena) FIELD((env)->vel, -DRONE_MAX_SPEED, DRONE_MAX_SPEED) \
    FIELD((env)->quat, -1.0f, 1.0f) FIELD((env)->omega, -DRONE_MAX_SPIN, DRONE_MAX_SPIN) \
    FIELD((env)->target, -DRONE_TARGET_BOX * (env)->arena, DRONE_TARGET_BOX * (env)->arena) \
    FIELD((env)->target_vel, -(env)->target_speed, (env)->target_speed) FIELD((env)->steps, 0, (env)->max_steps - 1) \
    FIELD((env)->reached, 0, (env)->max_steps) FIELD((env)->episode_return, -1e8f, 1e8f)
#define STATE_CHECK drone_check_state
#include "vecenv.h"

static int drone_check_state(const Env* env, char* error, int size) {
    const float* q = env->quat;
    float norm = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
    if (!(norm > 0.98f && norm < 1.02f)) {
        snprintf(error, size, "the orientation quaternion has squared length %g, not 1", (double)norm);
        return -1;
    }
    return 0;
}

#ifndef PUFFER_NO_PYTHON
// set_state(index, pos, vel, quat, omega, target, target_vel): load a flight state (3-, 3-, 4-, 3-, 3-, 3-tuples;
// the quaternion w, x, y, z is normalised). Positions must lie inside the arena, the target inside its box.
static PyObject* set_state(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    float p[3], v[3], q[4], w[3], t[3], tv[3];
    if (!PyArg_ParseTuple(args, "n(fff)(fff)(ffff)(fff)(fff)(fff)", &index, &p[0], &p[1], &p[2], &v[0], &v[1], &v[2],
                          &q[0], &q[1], &q[2], &q[3], &w[0], &w[1], &w[2], &t[0], &t[1], &t[2], &tv[0], &tv[1],
                          &tv[2]))
        return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    float norm = sqrtf(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    float box = DRONE_TARGET_BOX * env->arena;
    int ok = isfinite(norm) && norm > 1e-6f;
    for (int i = 0; i < 3; i++) {
        ok = ok && fabsf(p[i]) <= env->arena && fabsf(t[i]) <= box && fabsf(v[i]) <= DRONE_MAX_SPEED
            && fabsf(w[i]) <= DRONE_MAX_SPIN && fabsf(tv[i]) <= 2.0f;
    }
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "set_state: position outside the arena, target outside its box, speeds "
                        "over their caps or a zero quaternion");
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        env->pos[i] = p[i];
        env->vel[i] = v[i];
        env->omega[i] = w[i];
        env->target[i] = t[i];
        env->target_vel[i] = tv[i];
    }
    for (int i = 0; i < 4; i++) env->quat[i] = q[i] / norm;
    drone_write_obs(env);
    Py_RETURN_NONE;
}
#endif
