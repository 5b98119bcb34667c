#include "memory.h"
#define Env Memory
#define ENV_NAME memory
#define OBS_TYPE float
#define ACT_TYPE int
#define NUM_AGENTS 1
#define OBS_SIZE(env) 2
#define ACT_SIZE 1
#define STATE(env, FIELD, ARRAY) FIELD((env)->bit, 0, 1) FIELD((env)->tick, 0, (env)->delay)
#include "vecenv.h"

static int my_init(Env* env, PyObject* kwargs) {
    return unpack_int(kwargs, "delay", &env->delay, 0, 10000);
}

static void my_log(Log* log, PyObject* dict) {}
