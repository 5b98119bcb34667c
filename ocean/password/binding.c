#include "password.h"
#define Env Password
#define ENV_NAME password
#define OBS_TYPE float
#define ACT_TYPE int
#define NUM_AGENTS 1
#define OBS_SIZE(env) ((env)->length)
#define ACT_SIZE 1
// The password itself is not state: c_init draws it from password_seed.
#define STATE(env, FIELD, ARRAY) FIELD((env)->position, 0, (env)->length - 1)
#include "vecenv.h"

static int my_init(Env* env, PyObject* kwargs) {
    return unpack_int(kwargs, "length", &env->length, 1, PASSWORD_MAX)
        || unpack_int(kwargs, "password_seed", &env->password_seed, 0, 2147483647) ? -1 : 0;
}

static void my_log(Log* log, PyObject* dict) {}
