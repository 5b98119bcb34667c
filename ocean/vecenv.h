// vecenv.h: the one binding shared by every Ocean env. A binding.c includes its env header (which defines OBS_TYPE,
// ACT_TYPE and LOG_STATS and builds its struct from puffer.h's PUFFER_LOG and PUFFER_ENV_FIELDS), defines the
// other macros below (the env's spec: parameters, spaces, agents, frame, state), then includes this file. It
// provides the vector core (plain C: create N envs over caller buffers, reset, step all N in one call, sum logs,
// render, save and load checked state) and, unless PUFFER_NO_PYTHON is defined, the CPython module
// pufferlib.envs.ocean._<ENV_NAME> exposing it as the type `Vector` and the functions `spec(params)` and
// `param_bounds(params)`: the Python registry is built from spec(). See ocean/README.md.
//
// Required macros:
//   Env             the env struct type (a typedef name)
//   ENV_NAME        the env folder name as a bare token (cartpole -> module pufferlib.envs.ocean._cartpole)
//   DESCRIPTION     one line saying what the env is, a string
//   PARAMS(INT, FLOAT)  every parameter, in the order they are read: INT(member, default, low, high) or
//                   FLOAT(member, default, low, high) for the member of Env of that name (int or float), with its
//                   default and inclusive range. Bounds may use members read before (bandit: best_arm <= num_arms - 1).
//                   Empty for an env without parameters. vecenv.h reads them into the env (my_init).
//   OBS_TYPE        float or unsigned char: element type of the observation rows (in the env header)
//   OBS_SIZE(env)   observation elements per agent; may read parameters
//   OBS_LOW(env, i), OBS_HIGH(env, i)  inclusive bounds of observation element i (doubles; INFINITY for none)
//   ACT_TYPE        int or float: element type of env->actions (caller actions are converted and clamped into it;
//                   in the env header)
//   LOG_STATS(X)    the env's own episode stats, X(name) each, reported as means after score, episode_return and
//                   episode_length; empty for none (in the env header, which passes it to PUFFER_LOG)
//   ACT_SIZE        action elements per agent (1 for Discrete, k for MultiDiscrete / Box of k floats)
//   ACT_N(env, j)   choices of action element j (Discrete / MultiDiscrete), or 0 for a Box action in [-1, 1]; may
//                   read parameters (cartpole: 0 when continuous)
//   NUM_AGENTS      agent rows per C env (with the default parameters; see AGENTS)
//   FRAME_W, FRAME_H  size of the RGB frame c_render draws (usually defined in the env header, which needs them)
//   STATE(env, FIELD, ARRAY)  the game state that snapshot() saves and restore() loads, besides the RNG and the log
//                   (saved for every env): FIELD(member, low, high) for a member of the struct (a scalar, or a
//                   fixed-size array whose every element is checked) of an integer or floating type, whose value
//                   must lie in [low, high]; ARRAY(pointer, count, low, high) for an array c_init allocated. Bounds
//                   may use parameters and fields listed before. A struct member (no range to check) is copied as
//                   bytes: STATE_CHECK must then check it. Anything not listed (parameters, buffer pointers,
//                   scratch that c_step rewrites before reading) is never read from a snapshot.
// Optional: AGENTS(env), agent rows per C env when they depend on parameters (two-player games: 1 against the
// scripted opponent, 2 in agent mode; default NUM_AGENTS); AGENT_MASKS, defined when Env has a member
// `unsigned char* masks` (one per agent row) that c_reset/c_step write: 1 when that row's action is used this step,
// 0 while it waits its turn (Vector's optional `masks` buffer, the PufferEnv's masks; see "Two-player games" in
// ocean/README.md); TEXT_SIZE (bytes for c_render_text, default 4096); MY_METHODS(X), an X-macro naming extra Python
// methods `static PyObject* name(PyObject* self, PyObject* args)` the binding defines (see vector_env());
// STATE_CHECK, the name of a function `static int f(const Env* env, char* error, int size)` that checks what field
// ranges cannot (cells that must agree with positions, ...) on a loaded state: 0, or -1 with a one-line message.
// ACTION_MASK (defined as 1): the env writes env->action_mask, one row of sum(ACT_N) bytes per agent (1 = legal), on
// c_reset and after every c_step; policies never sample a masked action (docs/policies.md). Python hands in the
// buffer (Vector's optional `action_mask`); without one (and in the sanitizer) the vector owns it. Envs without
// ACTION_MASK get env->action_mask = NULL. ACTION_MASK_ON(env) (default 1) may make the mask depend on parameters
// (tetris: its `action_mask` parameter); where it is 0, env->action_mask is NULL and spec()'s 'action_mask' False.
// NAMES(ENTRY, SET): the registry names this module serves, each ENTRY(name, description, sets) where `sets` is zero
// or more SET(parameter, value) that change the defaults under that name (a variant of the env, as
// puffer_cartpole_continuous). Default: ENTRY("puffer_" <ENV_NAME>, DESCRIPTION, ). Exported as the module's NAMES,
// [(name, description, {parameter: default})], from which the Python registry is discovered.
#ifndef PUFFER_VECENV_H
#define PUFFER_VECENV_H

#if !defined(Env) || !defined(ENV_NAME) || !defined(DESCRIPTION) || !defined(PARAMS) || !defined(OBS_TYPE) \
    || !defined(OBS_SIZE) || !defined(OBS_LOW) || !defined(OBS_HIGH) || !defined(ACT_TYPE) || !defined(ACT_SIZE) \
    || !defined(ACT_N) || !defined(NUM_AGENTS) || !defined(FRAME_W) || !defined(FRAME_H) || !defined(STATE) \
    || !defined(LOG_STATS)
#error "define Env, ENV_NAME, DESCRIPTION, PARAMS, OBS_TYPE, OBS_SIZE, OBS_LOW, OBS_HIGH, ACT_TYPE, ACT_SIZE, ACT_N, \
NUM_AGENTS, FRAME_W, FRAME_H, STATE and LOG_STATS first (see the top of ocean/vecenv.h)"
#endif
// The most envs one vector holds (pufferlib.envs.ocean.registry.MAX_NUM_ENVS): bounds every allocation by parameters.
#define PUFFER_MAX_ENVS (1 << 20)
#ifndef TEXT_SIZE
#define TEXT_SIZE 4096
#endif
#ifndef AGENTS
#define AGENTS(env) NUM_AGENTS
#endif
#if defined(ACTION_MASK) && !defined(ACTION_MASK_ON)
#define ACTION_MASK_ON(env) 1
#endif
#define PUFFER_STR_(x) #x
#define PUFFER_STR(x) PUFFER_STR_(x)
#define PUFFER_CAT_(a, b) a##b
#define PUFFER_CAT(a, b) PUFFER_CAT_(a, b)
#define PUFFER_ENV_NAME PUFFER_STR(ENV_NAME)
#ifndef NAMES
#define NAMES(ENTRY, SET) ENTRY("puffer_" PUFFER_ENV_NAME, DESCRIPTION, )
#endif

#ifndef PUFFER_NO_PYTHON
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#else
#include <stdio.h>
// Without Python (the sanitizer driver), parameters are "key=value" strings and log dicts are discarded.
typedef struct { int count; const char** keys; const char** values; } PyObject;
#endif

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int my_init(Env* env, PyObject* kwargs);  // read PARAMS into env; 0, or -1 with an error raised
#ifdef STATE_CHECK
static int STATE_CHECK(const Env* env, char* error, int size);
#endif

// ---------------------------------------------------------------------------------------------------------------
// Parameter helpers for my_init (generated from PARAMS below). Each returns 0, or -1 with a Python exception set
// naming the parameter: a parameter is never silently defaulted.

#define PUFFER_MAX_PARAMS 64
// Every parameter my_init read, in order, with its bounds and value: to catch unread parameters, to tell a snapshot
// of other parameters apart, and for param_bounds().
typedef struct {
    const char* key;
    int is_float;
    double low, high, value;
} PufferParam;
static PufferParam puffer_params_read[PUFFER_MAX_PARAMS];
static int puffer_num_params_read;

static void puffer_note_read(const char* key, int is_float, double low, double high, double value) {
    if (puffer_num_params_read < PUFFER_MAX_PARAMS)
        puffer_params_read[puffer_num_params_read++] = (PufferParam){key, is_float, low, high, value};
}

#ifndef PUFFER_NO_PYTHON
static int puffer_probing;  // param_bounds(): clamp out-of-range values into range instead of failing

static PyObject* puffer_param(PyObject* kwargs, const char* key) {
    PyObject* value = PyDict_GetItemString(kwargs, key);  // borrowed
    if (value == NULL)
        PyErr_Format(PyExc_TypeError, "%s: missing env parameter '%s'", PUFFER_ENV_NAME, key);
    return value;
}

static int unpack_int(PyObject* kwargs, const char* key, int* out, int low, int high) {
    PyObject* value = puffer_param(kwargs, key);
    if (value == NULL) return -1;
    if (!PyLong_Check(value) || PyBool_Check(value)) {
        PyErr_Format(PyExc_TypeError, "%s: env parameter '%s' must be an int, got %R (%s)", PUFFER_ENV_NAME, key,
                     value, Py_TYPE(value)->tp_name);
        return -1;
    }
    int overflow;
    long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (number == -1 && PyErr_Occurred()) return -1;
    if (overflow || number < low || number > high) {
        if (!puffer_probing) {
            PyErr_Format(PyExc_ValueError, "%s: env parameter '%s' = %R is out of range [%d, %d]", PUFFER_ENV_NAME,
                         key, value, low, high);
            return -1;
        }
        number = overflow < 0 || (!overflow && number < low) ? low : high;
    }
    *out = (int)number;
    puffer_note_read(key, 0, low, high, (double)number);
    return 0;
}

static int unpack_float(PyObject* kwargs, const char* key, float* out, float low, float high) {
    PyObject* value = puffer_param(kwargs, key);
    if (value == NULL) return -1;
    if (!(PyFloat_Check(value) || PyLong_Check(value)) || PyBool_Check(value)) {
        PyErr_Format(PyExc_TypeError, "%s: env parameter '%s' must be a float, got %R (%s)", PUFFER_ENV_NAME, key,
                     value, Py_TYPE(value)->tp_name);
        return -1;
    }
    double number = PyFloat_AsDouble(value);
    if (number == -1.0 && PyErr_Occurred()) return -1;
    if (!(number >= low && number <= high)) {
        if (!puffer_probing) {
            char range[80];  // PyErr_Format has no %g
            snprintf(range, sizeof range, "[%g, %g]", (double)low, (double)high);
            PyErr_Format(PyExc_ValueError, "%s: env parameter '%s' = %R is out of range %s", PUFFER_ENV_NAME, key,
                         value, range);
            return -1;
        }
        number = number > high ? high : low;  // NaN too becomes low
    }
    *out = (float)number;
    puffer_note_read(key, 1, low, high, (double)*out);
    return 0;
}

// For my_log: dict[key] = value.
static void log_add(PyObject* dict, const char* key, float value) {
    PyObject* number = PyFloat_FromDouble(value);
    if (number == NULL) return;
    PyDict_SetItemString(dict, key, number);
    Py_DECREF(number);
}

#else
static const char* puffer_param(PyObject* kwargs, const char* key) {
    for (int i = 0; i < kwargs->count; i++)
        if (strcmp(kwargs->keys[i], key) == 0) return kwargs->values[i];
    fprintf(stderr, "%s: missing env parameter '%s'\n", PUFFER_ENV_NAME, key);
    return NULL;
}

static int unpack_int(PyObject* kwargs, const char* key, int* out, int low, int high) {
    const char* text = puffer_param(kwargs, key);
    if (text == NULL) return -1;
    char* end;
    long number = strtol(text, &end, 10);
    if (*end != '\0' || number < low || number > high) {
        fprintf(stderr, "%s: env parameter '%s' = '%s' is not an int in [%d, %d]\n", PUFFER_ENV_NAME, key, text,
                low, high);
        return -1;
    }
    *out = (int)number;
    puffer_note_read(key, 0, low, high, (double)number);
    return 0;
}

static int unpack_float(PyObject* kwargs, const char* key, float* out, float low, float high) {
    const char* text = puffer_param(kwargs, key);
    if (text == NULL) return -1;
    char* end;
    double number = strtod(text, &end);
    if (*end != '\0' || !(number >= low && number <= high)) {
        fprintf(stderr, "%s: env parameter '%s' = '%s' is not a float in [%g, %g]\n", PUFFER_ENV_NAME, key, text,
                (double)low, (double)high);
        return -1;
    }
    *out = (float)number;
    puffer_note_read(key, 1, low, high, (double)*out);
    return 0;
}

static void log_add(PyObject* dict, const char* key, float value) { (void)dict; (void)key; (void)value; }
#endif

// The env's own stats (LOG_STATS in its header), reported as means like score.
#define PUFFER_LOG_ADD(name) log_add(dict, #name, log->name);
static void my_log(Log* log, PyObject* dict) {
    (void)log;
    (void)dict;
    LOG_STATS(PUFFER_LOG_ADD)
}

// my_init: every PARAMS entry read in order (short-circuit: a bound may use a member read before it).
#define PUFFER_UNPACK_INT(name, default_value, low, high) || unpack_int(kwargs, #name, &env->name, low, high)
#define PUFFER_UNPACK_FLOAT(name, default_value, low, high) || unpack_float(kwargs, #name, &env->name, low, high)
static int my_init(Env* env, PyObject* kwargs) {
    (void)env;
    (void)kwargs;
    return 0 PARAMS(PUFFER_UNPACK_INT, PUFFER_UNPACK_FLOAT) ? -1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// The vector core: plain C over raw pointers, shared by the Python type and the sanitizer driver.

typedef struct {
    Env* envs;
    int num_envs;
    int attached;                          // envs c_init has run on (even if it failed): c_close must run on them
    int ready;                             // reset, or loaded from a snapshot: the envs may be stepped and drawn
    PufferParam params[PUFFER_MAX_PARAMS];  // what my_init read (the same for every env)
    int num_params;
    int obs_size;                          // OBS_SIZE of one agent
    int agents;                            // AGENTS: agent rows per env (the same for every env)
    unsigned char* own_masks;              // AGENT_MASKS without a caller buffer: the envs write here
    const void* caller_actions;            // rows written by the caller, of element type caller_actions_type
    int caller_actions_type;               // ACTIONS_INT32, ACTIONS_INT64, ACTIONS_FLOAT32 or ACTIONS_FLOAT64
    ACT_TYPE* actions;                     // clamped copy the envs read: out-of-range actions never reach c_step
    int mask_size;                         // ACTION_MASK: bytes of one agent's legal-action mask, sum of ACT_N
    unsigned char* action_mask;            // ACTION_MASK: the rows the envs write (the caller's, or own_mask)
    unsigned char* own_mask;               // ACTION_MASK without a caller buffer: the envs write here
    double action_low[ACT_SIZE], action_high[ACT_SIZE];  // inclusive clamp bounds per action element
    uint64_t first_env;                    // index of env 0 in a larger pool (a data-parallel rank's share): env i
                                           // is seeded from (seed, first_env + i); set_first_env, 0 by default
} Vec;

enum { ACTIONS_INT32, ACTIONS_INT64, ACTIONS_FLOAT32, ACTIONS_FLOAT64 };

// Read parameters into every env (all share `kwargs`); 0, or -1 with an error raised (none raised: out of memory).
static int vec_configure(Vec* vec, int num_envs, PyObject* kwargs) {
    vec->num_envs = num_envs;
    vec->envs = (Env*)calloc((size_t)num_envs, sizeof(Env));
    if (vec->envs == NULL) return -1;
    for (int i = 0; i < num_envs; i++) {
        puffer_num_params_read = 0;
        if (my_init(&vec->envs[i], kwargs) != 0) return -1;
    }
    vec->agents = AGENTS(&vec->envs[0]);
    vec->actions = (ACT_TYPE*)calloc((size_t)num_envs * vec->agents * ACT_SIZE, sizeof(ACT_TYPE));
    if (vec->actions == NULL) return -1;
    vec->num_params = puffer_num_params_read;
    memcpy(vec->params, puffer_params_read, sizeof(PufferParam) * (size_t)vec->num_params);
    vec->obs_size = OBS_SIZE(&vec->envs[0]);
#ifdef ACTION_MASK
    if (ACTION_MASK_ON(&vec->envs[0])) {
        for (int j = 0; j < ACT_SIZE; j++) vec->mask_size += (int)(ACT_N(&vec->envs[0], j));
        vec->own_mask = (unsigned char*)calloc((size_t)num_envs * vec->agents * vec->mask_size, 1);
        if (vec->own_mask == NULL) return -1;
        vec->action_mask = vec->own_mask;
    }
#endif
    return 0;
}

// Point env i at its rows, set the action bounds (inclusive), call c_init and seed every env. 0, or -1 when a
// c_init ran out of memory (vec_close then closes every env c_init ran on). `masks` (rows; NULL: a buffer of the
// vector's own) is only written by AGENT_MASKS envs.
static int vec_attach(Vec* vec, OBS_TYPE* observations, const void* actions, int actions_type,
                      float* rewards, unsigned char* terminals, unsigned char* truncations, unsigned char* masks,
                      const double* action_low, const double* action_high, uint64_t seed) {
#ifdef AGENT_MASKS
    if (masks == NULL) masks = vec->own_masks = (unsigned char*)calloc((size_t)vec->num_envs * vec->agents, 1);
    if (masks == NULL) return -1;
#else
    (void)masks;
#endif
    vec->caller_actions = actions;
    vec->caller_actions_type = actions_type;
    for (int j = 0; j < ACT_SIZE; j++) {
        vec->action_low[j] = action_low[j];
        vec->action_high[j] = action_high[j];
    }
    for (int i = 0; i < vec->num_envs; i++) {
        Env* env = &vec->envs[i];
        size_t row = (size_t)i * vec->agents;
        env->observations = observations + row * vec->obs_size;
        env->actions = vec->actions + row * ACT_SIZE;
        env->rewards = rewards + row;
        env->terminals = terminals + row;
        env->truncations = truncations + row;
#ifdef AGENT_MASKS
        env->masks = masks + row;
#endif
        env->action_mask = vec->action_mask == NULL ? NULL : vec->action_mask + row * vec->mask_size;
        env->rng = rng_seed(seed, (uint64_t)i);
        vec->attached = i + 1;
        if (c_init(env) != 0) return -1;
    }
    return 0;
}

// seed < 0: keep each env's random stream where it is (a plain reset); otherwise reseed env i from (seed, i).
static void vec_reset(Vec* vec, long long seed) {
    size_t rows = (size_t)vec->num_envs * vec->agents;
    Env* first = &vec->envs[0];
    memset(first->rewards, 0, rows * sizeof(float));
    memset(first->terminals, 0, rows);
    memset(first->truncations, 0, rows);
    for (int i = 0; i < vec->num_envs; i++) {
        Env* env = &vec->envs[i];
        if (seed >= 0) env->rng = rng_seed((uint64_t)seed, vec->first_env + (uint64_t)i);
        memset(&env->log, 0, sizeof(Log));
        c_reset(env);
    }
    vec->ready = 1;
}

// Copy the caller's actions into the envs' buffer, clamped to the action space (NaN becomes the lower bound). The
// clamp is done on doubles (exact for every int32 and float32, and for int64 within the bounds) because SSE2 has
// branch-free double min/max but no int32 ones: random actions would otherwise mispredict a branch per action.
#define PUFFER_CLAMP_COPY(T)                                                                    \
    {                                                                                           \
        const T* in = (const T*)vec->caller_actions;                                            \
        for (size_t row = 0; row < rows; row++, in += ACT_SIZE, out += ACT_SIZE)                \
            for (int j = 0; j < ACT_SIZE; j++) {                                                \
                double value = (double)in[j];                                                   \
                value = value > vec->action_low[j] ? value : vec->action_low[j];                \
                out[j] = (ACT_TYPE)(value < vec->action_high[j] ? value : vec->action_high[j]); \
            }                                                                                   \
    }

static void vec_copy_actions(Vec* vec) {
    size_t rows = (size_t)vec->num_envs * vec->agents;
    ACT_TYPE* out = vec->actions;
    switch (vec->caller_actions_type) {
        case ACTIONS_INT32: PUFFER_CLAMP_COPY(int32_t) break;
        case ACTIONS_INT64: PUFFER_CLAMP_COPY(int64_t) break;
        case ACTIONS_FLOAT32: PUFFER_CLAMP_COPY(float) break;
        default: PUFFER_CLAMP_COPY(double) break;
    }
}

static void vec_step(Vec* vec) {
    vec_copy_actions(vec);
    Env* envs = vec->envs;
    for (int i = 0; i < vec->num_envs; i++) c_step(&envs[i]);
}

// Sum every env's log into `total`, divide by the number of finished episodes, clear the accumulators.
// Returns that number (0: nothing finished, `total` is all zeros).
static float vec_log(Vec* vec, Log* total) {
    const int fields = (int)(sizeof(Log) / sizeof(float));
    float* sum = (float*)total;
    memset(total, 0, sizeof(Log));
    for (int i = 0; i < vec->num_envs; i++) {
        float* log = (float*)&vec->envs[i].log;
        for (int f = 0; f < fields; f++) sum[f] += log[f];
        memset(&vec->envs[i].log, 0, sizeof(Log));
    }
    float n = total->n;
    if (n > 0)
        for (int f = 0; f < fields; f++) sum[f] /= n;
    total->n = n;
    return n;
}

// State snapshots, as checked values: never raw structs, so that no file can set a size, a parameter or a pointer.
// Layout (native byte order): a header (PUFFER_STATE_MAGIC, the format version, the env name, num_envs, the
// parameters my_init read as doubles), then for each env its log (floats), its RNG state and the STATE fields in
// order. Loading checks the header against this vector, then every field's range and STATE_CHECK on a scratch copy
// of each env (arrays decoded into fresh allocations); only when every env passed is anything written.
#define PUFFER_STATE_MAGIC 0x53464650u  // "PFFS"
#define PUFFER_STATE_VERSION 1u
#define PUFFER_NAME_BYTES 32

enum { PUFFER_RAW, PUFFER_INT, PUFFER_UINT, PUFFER_SCHAR, PUFFER_UCHAR, PUFFER_FLOAT, PUFFER_DOUBLE, PUFFER_U64 };
// The kind of one element of a member or of the array a pointer points to (an array member decays to a pointer).
#define PUFFER_KIND(x) _Generic((x), int: PUFFER_INT, int*: PUFFER_INT, unsigned int: PUFFER_UINT, \
    unsigned int*: PUFFER_UINT, signed char: PUFFER_SCHAR, signed char*: PUFFER_SCHAR, unsigned char: PUFFER_UCHAR, \
    unsigned char*: PUFFER_UCHAR, float: PUFFER_FLOAT, float*: PUFFER_FLOAT, double: PUFFER_DOUBLE, \
    double*: PUFFER_DOUBLE, unsigned long: PUFFER_U64, unsigned long*: PUFFER_U64, unsigned long long: PUFFER_U64, \
    unsigned long long*: PUFFER_U64, default: PUFFER_RAW)

// Check `count` elements of one kind against [low, high] (NaN never passes); 0, or -1 with a message naming the
// env, the field (its source text without "(env)->") and the value.
static int puffer_check_field(int kind, const void* data, size_t bytes, double low, double high, const char* name,
                              int index, char* error, size_t size) {
    static const size_t widths[] = {1, sizeof(int), sizeof(unsigned), 1, 1, sizeof(float), sizeof(double), 8};
    if (kind == PUFFER_RAW || kind == PUFFER_U64) return 0;  // raw: STATE_CHECK's job; u64 (RNG-like): any value
    size_t count = bytes / widths[kind];
    const char* arrow = strstr(name, "->");
    name = arrow ? arrow + 2 : name;
    for (size_t k = 0; k < count; k++) {
        double value;
        switch (kind) {
            case PUFFER_INT: value = ((const int*)data)[k]; break;
            case PUFFER_UINT: value = ((const unsigned*)data)[k]; break;
            case PUFFER_SCHAR: value = ((const signed char*)data)[k]; break;
            case PUFFER_UCHAR: value = ((const unsigned char*)data)[k]; break;
            case PUFFER_FLOAT: value = ((const float*)data)[k]; break;
            default: value = ((const double*)data)[k]; break;
        }
        if (!(value >= low && value <= high)) {
            char element[24] = "";
            if (count > 1) snprintf(element, sizeof element, "[%zu]", k);
            snprintf(error, size, "env %d: field '%s'%s = %.9g is outside [%.9g, %.9g]", index, name, element, value,
                     low, high);
            return -1;
        }
    }
    return 0;
}

// Arrays decoded into fresh allocations while checking (freed afterwards).
typedef struct { void* blocks[16]; int count; } PufferStage;

static void* puffer_stage(PufferStage* stage, size_t bytes) {
    if (stage->count == 16) return NULL;
    void* block = malloc(bytes ? bytes : 1);
    if (block != NULL) stage->blocks[stage->count++] = block;
    return block;
}

static void puffer_stage_free(PufferStage* stage) {
    for (int b = 0; b < stage->count; b++) free(stage->blocks[b]);
    stage->count = 0;
}

#define PUFFER_SIZE_FIELD(field, low, high) size += sizeof(field);
#define PUFFER_SIZE_ARRAY(pointer, count, low, high) size += (size_t)(count) * sizeof(*(pointer));
#define PUFFER_SAVE_FIELD(field, low, high) memcpy(out, &(field), sizeof(field)); out += sizeof(field);
#define PUFFER_SAVE_ARRAY(pointer, count, low, high) \
    memcpy(out, (pointer), (size_t)(count) * sizeof(*(pointer))); out += (size_t)(count) * sizeof(*(pointer));
#define PUFFER_LOAD_FIELD(field, low, high)                                                                      \
    memcpy(&(field), in, sizeof(field));                                                                        \
    in += sizeof(field);                                                                                        \
    if (stage && puffer_check_field(PUFFER_KIND(field), &(field), sizeof(field), (double)(low), (double)(high), \
                                    #field, index, error, size))                                                \
        return -1;
#define PUFFER_LOAD_ARRAY(pointer, count, low, high)                                                             \
    {                                                                                                           \
        size_t bytes = (size_t)(count) * sizeof(*(pointer));                                                    \
        if (stage && ((pointer) = puffer_stage(stage, bytes)) == NULL) return -2;                               \
        memcpy((pointer), in, bytes);                                                                           \
        in += bytes;                                                                                            \
        if (stage && puffer_check_field(PUFFER_KIND(pointer), (pointer), bytes, (double)(low), (double)(high),  \
                                        #pointer, index, error, size))                                          \
            return -1;                                                                                          \
    }

static size_t puffer_env_state_size(Env* env) {
    size_t size = sizeof(Log) + sizeof(uint64_t);
    STATE(env, PUFFER_SIZE_FIELD, PUFFER_SIZE_ARRAY)
    return size;
}

static size_t vec_state_header_size(Vec* vec) {
    return 4 * sizeof(uint32_t) + PUFFER_NAME_BYTES + (size_t)vec->num_params * sizeof(double);
}

static size_t vec_state_size(Vec* vec) {
    size_t size = vec_state_header_size(vec);
    for (int i = 0; i < vec->num_envs; i++) size += puffer_env_state_size(&vec->envs[i]);
    return size;
}

static void vec_save_state(Vec* vec, unsigned char* out) {
    uint32_t header[4] = {PUFFER_STATE_MAGIC, PUFFER_STATE_VERSION, (uint32_t)vec->num_envs,
                          (uint32_t)vec->num_params};
    memcpy(out, header, sizeof header);
    out += sizeof header;
    memset(out, 0, PUFFER_NAME_BYTES);
    strncpy((char*)out, PUFFER_ENV_NAME, PUFFER_NAME_BYTES - 1);
    out += PUFFER_NAME_BYTES;
    for (int p = 0; p < vec->num_params; p++, out += sizeof(double)) memcpy(out, &vec->params[p].value, sizeof(double));
    for (int i = 0; i < vec->num_envs; i++) {
        Env* env = &vec->envs[i];
        memcpy(out, &env->log, sizeof(Log));
        out += sizeof(Log);
        memcpy(out, &env->rng, sizeof(uint64_t));
        out += sizeof(uint64_t);
        STATE(env, PUFFER_SAVE_FIELD, PUFFER_SAVE_ARRAY)
    }
}

// Decode env `index`'s part of a state from *cursor into `env`. With a `stage`, every value is checked as it is
// read and arrays go into staged allocations: 0, -1 with a message in `error`, or -2 when out of memory.
static int puffer_decode_env(Env* env, int index, const unsigned char** cursor, PufferStage* stage, char* error,
                             size_t size) {
    const unsigned char* in = *cursor;
    memcpy(&env->log, in, sizeof(Log));
    in += sizeof(Log);
    if (stage) {
        const float* log = (const float*)&env->log;
        for (size_t f = 0; f < sizeof(Log) / sizeof(float); f++)
            if (!isfinite(log[f]) || (f == 3 && log[f] < 0)) {
                snprintf(error, size, "env %d: log field %zu = %g is not a finite count or sum", index, f,
                         (double)log[f]);
                return -1;
            }
    }
    memcpy(&env->rng, in, sizeof(uint64_t));
    in += sizeof(uint64_t);
    STATE(env, PUFFER_LOAD_FIELD, PUFFER_LOAD_ARRAY)
#ifdef STATE_CHECK
    if (stage) {
        char message[200] = "";
        if (STATE_CHECK(env, message, (int)sizeof message) != 0) {
            snprintf(error, size, "env %d: %s", index, message);
            return -1;
        }
    }
#endif
    *cursor = in;
    return 0;
}

// Continue every env from `state` (vec_save_state of a vector made with the same env, num_envs and parameters).
// 0; -1 with a one-line message in `error` (the vector is unchanged); -2 when out of memory (unchanged too).
static int vec_load_state(Vec* vec, const unsigned char* state, size_t length, char* error, size_t size) {
    uint32_t header[4];
    char name[PUFFER_NAME_BYTES + 1] = "";
    if (length >= sizeof header + PUFFER_NAME_BYTES) {
        memcpy(header, state, sizeof header);
        memcpy(name, state + sizeof header, PUFFER_NAME_BYTES);
    }
    if (length < sizeof header + PUFFER_NAME_BYTES || header[0] != PUFFER_STATE_MAGIC
            || header[1] != PUFFER_STATE_VERSION) {
        snprintf(error, size, "not a saved state of format version %u", PUFFER_STATE_VERSION);
        return -1;
    }
    if (strcmp(name, PUFFER_ENV_NAME) != 0) {
        snprintf(error, size, "the state was saved by another env");
        return -1;
    }
    if (header[2] != (uint32_t)vec->num_envs || header[3] != (uint32_t)vec->num_params) {
        snprintf(error, size, "the state holds %u envs of %u parameters; this vector has %d of %d", header[2],
                 header[3], vec->num_envs, vec->num_params);
        return -1;
    }
    const unsigned char* in = state + sizeof header + PUFFER_NAME_BYTES;
    if (length < vec_state_header_size(vec)) {
        snprintf(error, size, "the state is cut short (%zu bytes)", length);
        return -1;
    }
    for (int p = 0; p < vec->num_params; p++, in += sizeof(double)) {
        double saved;
        memcpy(&saved, in, sizeof saved);
        if (memcmp(&saved, &vec->params[p].value, sizeof saved) != 0) {
            snprintf(error, size, "the state was saved with env parameter '%s' = %.9g; this vector has %.9g",
                     vec->params[p].key, saved, vec->params[p].value);
            return -1;
        }
    }
    if (length != vec_state_size(vec)) {
        snprintf(error, size, "the state has %zu bytes; this vector's has %zu", length, vec_state_size(vec));
        return -1;
    }
    const unsigned char* first = in;
    for (int i = 0; i < vec->num_envs; i++) {
        Env scratch = vec->envs[i];  // parameters and pointers of the live env; arrays go to staged copies
        PufferStage stage = {{NULL}, 0};
        int status = puffer_decode_env(&scratch, i, &in, &stage, error, size);
        puffer_stage_free(&stage);
        if (status != 0) return status;
    }
    in = first;
    for (int i = 0; i < vec->num_envs; i++) puffer_decode_env(&vec->envs[i], i, &in, NULL, NULL, 0);
    vec->ready = 1;
    return 0;
}

static void vec_close(Vec* vec) {
    if (vec->envs != NULL)
        for (int i = 0; i < vec->attached; i++) c_close(&vec->envs[i]);
    free(vec->envs);
    free(vec->actions);
    free(vec->own_masks);
    free(vec->own_mask);
    vec->own_mask = vec->action_mask = NULL;
    vec->envs = NULL;
    vec->actions = NULL;
    vec->own_masks = NULL;
    vec->attached = 0;
    vec->ready = 0;
}

#ifndef PUFFER_NO_PYTHON
// ---------------------------------------------------------------------------------------------------------------
// CPython: Vector(observations, actions, rewards, terminals, truncations, num_envs, params, action_low,
// action_high, seed). Buffers are any C-contiguous writable buffer-protocol objects (numpy arrays); the vector keeps
// them alive and writes into them in place.

enum { BUF_OBSERVATIONS, BUF_ACTIONS, BUF_REWARDS, BUF_TERMINALS, BUF_TRUNCATIONS, NUM_BUFFERS };
static const char* puffer_buffer_names[NUM_BUFFERS] = {
    "observations", "actions", "rewards", "terminals", "truncations"};

typedef struct {
    PyObject_HEAD
    Vec vec;
    Py_buffer buffers[NUM_BUFFERS + 1];  // the five buffers, then the optional masks
    int num_buffers_held;
    Py_buffer action_mask;                 // ACTION_MASK: the caller's legal-action mask rows, when handed in
    int action_mask_held;
    int closed;
} VectorObject;

static char puffer_format(const Py_buffer* view) {
    const char* format = view->format ? view->format : "B";
    while (*format == '@' || *format == '=' || *format == '<' || *format == '>' || *format == '!') format++;
    return format[0];
}

// Check element type and count of one buffer; raise TypeError/ValueError with the numbers.
static int puffer_check_buffer(const Py_buffer* view, const char* name, const char* formats, Py_ssize_t itemsize,
                               const char* dtype, Py_ssize_t expected, const char* expected_text) {
    char format = puffer_format(view);
    if (view->itemsize != itemsize || format == 0 || strchr(formats, format) == NULL) {
        PyErr_Format(PyExc_TypeError, "%s: %s buffer has element format '%s' (%zd bytes); expected %s",
                     PUFFER_ENV_NAME, name, view->format ? view->format : "B", view->itemsize, dtype);
        return -1;
    }
    Py_ssize_t count = view->len / view->itemsize;
    if (count != expected) {
        PyErr_Format(PyExc_ValueError, "%s: %s buffer has %zd elements; expected %zd = %s", PUFFER_ENV_NAME, name,
                     count, expected, expected_text);
        return -1;
    }
    return 0;
}

// ACTIONS_* type of an actions buffer, or -1 if it is none of int32, int64, float32, float64.
static int puffer_actions_type(const Py_buffer* view) {
    char format = puffer_format(view);
    if ((format == 'i' || format == 'l') && view->itemsize == 4) return ACTIONS_INT32;
    if ((format == 'l' || format == 'q') && view->itemsize == 8) return ACTIONS_INT64;
    if (format == 'f' && view->itemsize == 4) return ACTIONS_FLOAT32;
    if (format == 'd' && view->itemsize == 8) return ACTIONS_FLOAT64;
    return -1;
}

static int puffer_read_bounds(PyObject* sequence, const char* name, double* out) {
    PyObject* fast = PySequence_Fast(sequence, "action bounds must be a sequence of numbers");
    if (fast == NULL) return -1;
    if (PySequence_Fast_GET_SIZE(fast) != ACT_SIZE) {
        PyErr_Format(PyExc_ValueError, "%s: %s has %zd values; expected ACT_SIZE = %d", PUFFER_ENV_NAME, name,
                     PySequence_Fast_GET_SIZE(fast), ACT_SIZE);
        Py_DECREF(fast);
        return -1;
    }
    for (int j = 0; j < ACT_SIZE; j++) {
        out[j] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, j));
        if (out[j] == -1.0 && PyErr_Occurred()) { Py_DECREF(fast); return -1; }
    }
    Py_DECREF(fast);
    return 0;
}

// Every parameter handed in must have been read by my_init: catches a registry entry that drifted from the C env.
static int puffer_check_all_read(PyObject* params) {
    PyObject *key, *value;
    Py_ssize_t position = 0;
    while (PyDict_Next(params, &position, &key, &value)) {
        const char* name = PyUnicode_AsUTF8(key);
        if (name == NULL) return -1;
        int read = 0;
        for (int k = 0; k < puffer_num_params_read; k++)
            read |= strcmp(puffer_params_read[k].key, name) == 0;
        if (!read) {
            PyErr_Format(PyExc_TypeError, "%s: env parameter '%s' is not read by the C env", PUFFER_ENV_NAME, name);
            return -1;
        }
    }
    return 0;
}

static void vector_release(VectorObject* self) {
    if (!self->closed) vec_close(&self->vec);
    for (int b = 0; b < self->num_buffers_held; b++) PyBuffer_Release(&self->buffers[b]);
    self->num_buffers_held = 0;
    if (self->action_mask_held) PyBuffer_Release(&self->action_mask);
    self->action_mask_held = 0;
    self->closed = 1;
}

static PyObject* vector_new(PyTypeObject* type, PyObject* args, PyObject* kwds) {
    static char* keywords[] = {"observations", "actions", "rewards", "terminals", "truncations", "num_envs",
                               "params", "action_low", "action_high", "seed", "masks", "action_mask", NULL};
    PyObject* objects[NUM_BUFFERS];
    PyObject *params, *low_seq, *high_seq, *masks_object = NULL, *action_mask_object = Py_None;
    int num_envs;
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOiO!OO|KOO", keywords, &objects[0], &objects[1], &objects[2],
                                     &objects[3], &objects[4], &num_envs, &PyDict_Type, &params, &low_seq, &high_seq,
                                     &seed, &masks_object, &action_mask_object))
        return NULL;
#ifndef ACTION_MASK
    if (action_mask_object != Py_None) {
        PyErr_Format(PyExc_ValueError, "%s: action_mask given, but this env writes no action mask (no ACTION_MASK)",
                     PUFFER_ENV_NAME);
        return NULL;
    }
#endif
    if (num_envs < 1 || num_envs > PUFFER_MAX_ENVS) {
        PyErr_Format(PyExc_ValueError, "%s: num_envs must be in [1, %d], got %d", PUFFER_ENV_NAME, PUFFER_MAX_ENVS,
                     num_envs);
        return NULL;
    }
    double low[ACT_SIZE], high[ACT_SIZE];
    if (puffer_read_bounds(low_seq, "action_low", low) || puffer_read_bounds(high_seq, "action_high", high))
        return NULL;

    VectorObject* self = (VectorObject*)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    for (int b = 0; b < NUM_BUFFERS; b++) {
        if (PyObject_GetBuffer(objects[b], &self->buffers[b], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE)) {
            PyErr_Format(PyExc_TypeError, "%s: %s must be a writable C-contiguous buffer (a numpy array)",
                         PUFFER_ENV_NAME, puffer_buffer_names[b]);
            goto fail;
        }
        self->num_buffers_held++;
    }
    if (vec_configure(&self->vec, num_envs, params)) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto fail;
    }
    if (puffer_check_all_read(params)) goto fail;

    int agents = self->vec.agents;
    Py_ssize_t rows = (Py_ssize_t)num_envs * agents;
    char text[160];
    snprintf(text, sizeof text, "num_envs %d x agents %d x obs_size %d", num_envs, agents, self->vec.obs_size);
    int obs_is_float = sizeof(OBS_TYPE) == sizeof(float);
    if (puffer_check_buffer(&self->buffers[BUF_OBSERVATIONS], "observations", obs_is_float ? "f" : "B",
                            sizeof(OBS_TYPE), obs_is_float ? "float32" : "uint8", rows * self->vec.obs_size, text))
        goto fail;
    int actions_type = puffer_actions_type(&self->buffers[BUF_ACTIONS]);
    snprintf(text, sizeof text, "num_envs %d x agents %d x ACT_SIZE %d", num_envs, agents, ACT_SIZE);
    if (puffer_check_buffer(&self->buffers[BUF_ACTIONS], "actions", "fi", 4, "int32 or float32", rows * ACT_SIZE,
                            text))
        goto fail;
    snprintf(text, sizeof text, "num_envs %d x agents %d", num_envs, agents);
    if (puffer_check_buffer(&self->buffers[BUF_REWARDS], "rewards", "f", 4, "float32", rows, text)
        || puffer_check_buffer(&self->buffers[BUF_TERMINALS], "terminals", "?Bb", 1, "bool or uint8", rows, text)
        || puffer_check_buffer(&self->buffers[BUF_TRUNCATIONS], "truncations", "?Bb", 1, "bool or uint8", rows,
                               text))
        goto fail;
    unsigned char* masks = NULL;  // the caller's masks rows (optional); only AGENT_MASKS envs write them
    if (masks_object != NULL && masks_object != Py_None) {
        if (PyObject_GetBuffer(masks_object, &self->buffers[NUM_BUFFERS], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT
                               | PyBUF_WRITABLE)) {
            PyErr_Format(PyExc_TypeError, "%s: masks must be a writable C-contiguous buffer (a numpy array)",
                         PUFFER_ENV_NAME);
            goto fail;
        }
        self->num_buffers_held++;
        if (puffer_check_buffer(&self->buffers[NUM_BUFFERS], "masks", "?Bb", 1, "bool or uint8", rows, text))
            goto fail;
        masks = (unsigned char*)self->buffers[NUM_BUFFERS].buf;
    }
    if (action_mask_object != Py_None) {
        if (PyObject_GetBuffer(action_mask_object, &self->action_mask, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT
                               | PyBUF_WRITABLE)) {
            PyErr_Format(PyExc_TypeError, "%s: action_mask must be a writable C-contiguous buffer (a numpy array)",
                         PUFFER_ENV_NAME);
            goto fail;
        }
        self->action_mask_held = 1;
        if (self->vec.mask_size == 0) {
            PyErr_Format(PyExc_ValueError, "%s: action_mask given, but this env writes none with these parameters",
                         PUFFER_ENV_NAME);
            goto fail;
        }
        snprintf(text, sizeof text, "num_envs %d x agents %d x mask size %d", num_envs, agents, self->vec.mask_size);
        if (puffer_check_buffer(&self->action_mask, "action_mask", "?Bb", 1, "bool or uint8",
                                rows * self->vec.mask_size, text))
            goto fail;
        self->vec.action_mask = (unsigned char*)self->action_mask.buf;
    }

    if (vec_attach(&self->vec, (OBS_TYPE*)self->buffers[BUF_OBSERVATIONS].buf, self->buffers[BUF_ACTIONS].buf,
                   actions_type, (float*)self->buffers[BUF_REWARDS].buf,
                   (unsigned char*)self->buffers[BUF_TERMINALS].buf,
                   (unsigned char*)self->buffers[BUF_TRUNCATIONS].buf, masks, low, high, seed)) {
        PyErr_NoMemory();
        goto fail;
    }
    return (PyObject*)self;

fail:
    vector_release(self);
    Py_DECREF(self);
    return NULL;
}

static void vector_dealloc(VectorObject* self) {
    vector_release(self);
    Py_TYPE(self)->tp_free((PyObject*)self);
}

static int vector_check_open(VectorObject* self) {
    if (self->closed) PyErr_Format(PyExc_RuntimeError, "%s: the vector is closed", PUFFER_ENV_NAME);
    return self->closed ? -1 : 0;
}

// Open, and reset (or restored) since it was made: envs are only stepped, drawn or saved from a started episode.
static int vector_check_ready(VectorObject* self, const char* what) {
    if (vector_check_open(self)) return -1;
    if (!self->vec.ready)
        PyErr_Format(PyExc_RuntimeError, "%s: %s() called before reset(); call reset(seed) first", PUFFER_ENV_NAME,
                     what);
    return self->vec.ready ? 0 : -1;
}

// For MY_METHODS: the env at `index` of a Vector, or NULL with IndexError/RuntimeError set.
static Env* vector_env(PyObject* self, Py_ssize_t index) {
    VectorObject* vector = (VectorObject*)self;
    if (vector_check_open(vector)) return NULL;
    if (index < 0 || index >= vector->vec.num_envs) {
        PyErr_Format(PyExc_IndexError, "%s: env index %zd out of range [0, %d)", PUFFER_ENV_NAME, index,
                     vector->vec.num_envs);
        return NULL;
    }
    return &vector->vec.envs[index];
}

// For a MY_METHODS method whose only argument is the env index: that env, or NULL with the error set.
static Env* vector_env_arg(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    return PyArg_ParseTuple(args, "n", &index) ? vector_env(self, index) : NULL;
}

static PyObject* vector_reset(VectorObject* self, PyObject* args) {
    PyObject* seed_object = Py_None;
    if (!PyArg_ParseTuple(args, "|O", &seed_object) || vector_check_open(self)) return NULL;
    long long seed = -1;
    if (seed_object != Py_None) {
        seed = PyLong_AsLongLong(seed_object);
        if (seed == -1 && PyErr_Occurred()) return NULL;
        if (seed < 0) {
            PyErr_Format(PyExc_ValueError, "%s: seed must be >= 0 or None, got %lld", PUFFER_ENV_NAME, seed);
            return NULL;
        }
    }
    vec_reset(&self->vec, seed);
    Py_RETURN_NONE;
}

// set_first_env(index): env i is seeded from (seed, index + i) from the next seeded reset on, so that the vectors
// of several processes (data-parallel ranks) seed their envs as the parts of one large vector would.
static PyObject* vector_set_first_env(VectorObject* self, PyObject* args) {
    long long index;
    if (!PyArg_ParseTuple(args, "L", &index) || vector_check_open(self)) return NULL;
    if (index < 0) {
        PyErr_Format(PyExc_ValueError, "%s: first env index must be >= 0, got %lld", PUFFER_ENV_NAME, index);
        return NULL;
    }
    self->vec.first_env = (uint64_t)index;
    Py_RETURN_NONE;
}

// step(actions=None): step every env once. `actions`, a C-contiguous array of num_envs * NUM_AGENTS rows of
// ACT_SIZE elements (int32/int64, or also float32/float64 when the vector's own actions buffer is float32), is read
// in place, clamped into the envs' copy; without it the vector's own actions buffer is used.
static PyObject* vector_step(VectorObject* self, PyObject* args) {
    PyObject* actions = NULL;
    if (!PyArg_ParseTuple(args, "|O", &actions) || vector_check_ready(self, "step")) return NULL;
    if (actions == NULL || actions == Py_None) {
        Py_BEGIN_ALLOW_THREADS
        vec_step(&self->vec);
        Py_END_ALLOW_THREADS
        Py_RETURN_NONE;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(actions, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)) return NULL;
    Py_ssize_t rows = (Py_ssize_t)self->vec.num_envs * self->vec.agents;
    int type = puffer_actions_type(&view);
    int own_type = self->vec.caller_actions_type;
    int discrete = own_type == ACTIONS_INT32;  // the action buffer's dtype follows the space: int32 = discrete
    if (type < 0 || (discrete && type >= ACTIONS_FLOAT32)) {
        PyErr_Format(PyExc_TypeError, "%s: actions have element format '%s' (%zd bytes); expected %s",
                     PUFFER_ENV_NAME, view.format ? view.format : "B", view.itemsize,
                     discrete ? "int32 or int64" : "int32, int64, float32 or float64");
    } else if (view.len / view.itemsize != rows * ACT_SIZE || (view.ndim > 0 && view.shape[0] != rows)) {
        PyErr_Format(PyExc_ValueError, "%s: actions have %zd elements in %zd rows; expected %zd rows of ACT_SIZE %d "
                     "(num_envs %d x agents %d)", PUFFER_ENV_NAME, view.len / view.itemsize,
                     view.ndim > 0 ? view.shape[0] : 1, rows, ACT_SIZE, self->vec.num_envs, self->vec.agents);
    }
    if (PyErr_Occurred()) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const void* own_actions = self->vec.caller_actions;
    self->vec.caller_actions = view.buf;
    self->vec.caller_actions_type = type;
    Py_BEGIN_ALLOW_THREADS
    vec_step(&self->vec);
    Py_END_ALLOW_THREADS
    self->vec.caller_actions = own_actions;
    self->vec.caller_actions_type = own_type;
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

// Means of score, episode_return, episode_length and the env's own stats since the last call; {} if none finished.
static PyObject* vector_log(VectorObject* self, PyObject* unused) {
    if (vector_check_open(self)) return NULL;
    Log log;
    PyObject* dict = PyDict_New();
    if (dict == NULL || vec_log(&self->vec, &log) == 0) return dict;
    log_add(dict, "score", log.score);
    log_add(dict, "episode_return", log.episode_return);
    log_add(dict, "episode_length", log.episode_length);
    my_log(&log, dict);
    if (PyErr_Occurred()) { Py_DECREF(dict); return NULL; }
    return dict;
}

static PyObject* vector_render(VectorObject* self, PyObject* args) {
    Py_ssize_t index;
    PyObject* frame_object;
    if (!PyArg_ParseTuple(args, "nO", &index, &frame_object) || vector_check_ready(self, "render")) return NULL;
    Env* env = vector_env((PyObject*)self, index);
    if (env == NULL) return NULL;
    Py_buffer frame;
    if (PyObject_GetBuffer(frame_object, &frame, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE)) return NULL;
    int bad = puffer_check_buffer(&frame, "frame", "B", 1, "uint8", (Py_ssize_t)FRAME_H * FRAME_W * 3,
                                  "FRAME_H " PUFFER_STR(FRAME_H) " x FRAME_W " PUFFER_STR(FRAME_W) " x 3");
    if (!bad) c_render(env, (unsigned char*)frame.buf);
    PyBuffer_Release(&frame);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

static PyObject* vector_render_text(VectorObject* self, PyObject* args) {
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "n", &index) || vector_check_ready(self, "render_text")) return NULL;
    Env* env = vector_env((PyObject*)self, index);
    if (env == NULL) return NULL;
    char* text = (char*)calloc(TEXT_SIZE, 1);
    if (text == NULL) return PyErr_NoMemory();
    int length = c_render_text(env, text, TEXT_SIZE);
    if (length < 0) length = 0;
    if (length > TEXT_SIZE - 1) length = TEXT_SIZE - 1;
    PyObject* result = PyUnicode_DecodeUTF8(text, length, "replace");
    free(text);
    return result;
}

static PyObject* vector_close(VectorObject* self, PyObject* unused) {
    vector_release(self);
    Py_RETURN_NONE;
}

static PyObject* vector_get_num_envs(VectorObject* self, void* closure) { return PyLong_FromLong(self->vec.num_envs); }
static PyObject* vector_get_obs_size(VectorObject* self, void* closure) { return PyLong_FromLong(self->vec.obs_size); }

#ifdef MY_METHODS
#define PUFFER_DECLARE_METHOD(name) static PyObject* name(PyObject* self, PyObject* args);
MY_METHODS(PUFFER_DECLARE_METHOD)
#define PUFFER_METHOD_ENTRY(name) {#name, (PyCFunction)name, METH_VARARGS, NULL},
#endif

// snapshot() -> bytes: the state of every env (see vec_save_state). The caller's buffers are not included.
static PyObject* vector_snapshot(VectorObject* self, PyObject* unused) {
    if (vector_check_ready(self, "snapshot")) return NULL;
    PyObject* state = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)vec_state_size(&self->vec));
    if (state == NULL) return NULL;
    vec_save_state(&self->vec, (unsigned char*)PyBytes_AS_STRING(state));
    return state;
}

// restore(bytes): continue every env from a snapshot() of a vector made with the same parameters and num_envs.
// Every field is checked first: ValueError naming the env and the field (and nothing changed) for a bad state.
static PyObject* vector_restore(VectorObject* self, PyObject* args) {
    Py_buffer state;
    if (!PyArg_ParseTuple(args, "y*", &state)) return NULL;
    char error[320] = "";
    int status = vector_check_open(self) ? 0
                 : vec_load_state(&self->vec, (const unsigned char*)state.buf, (size_t)state.len, error, sizeof error);
    PyBuffer_Release(&state);
    if (status == -2) return PyErr_NoMemory();
    if (status != 0) return PyErr_Format(PyExc_ValueError, "%s: invalid saved state: %s", PUFFER_ENV_NAME, error);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef vector_methods[] = {
    {"reset", (PyCFunction)vector_reset, METH_VARARGS, "reset(seed=None): reseed env i from (seed, first_env + i)"},
    {"set_first_env", (PyCFunction)vector_set_first_env, METH_VARARGS,
     "set_first_env(index): from the next seeded reset, env i is seeded from (seed, index + i)"},
    {"step", (PyCFunction)vector_step, METH_VARARGS, "step(actions=None): step every env once"},
    {"log", (PyCFunction)vector_log, METH_NOARGS, "log() -> dict of episode-stat means since the last call"},
    {"render", (PyCFunction)vector_render, METH_VARARGS, "render(index, frame): draw env index into frame"},
    {"render_text", (PyCFunction)vector_render_text, METH_VARARGS, "render_text(index) -> str"},
    {"snapshot", (PyCFunction)vector_snapshot, METH_NOARGS, "snapshot() -> bytes: the state of every env"},
    {"restore", (PyCFunction)vector_restore, METH_VARARGS, "restore(bytes): continue from a snapshot()"},
    {"close", (PyCFunction)vector_close, METH_NOARGS, "close(): free the envs and release the buffers"},
#ifdef MY_METHODS
    MY_METHODS(PUFFER_METHOD_ENTRY)
#endif
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef vector_getset[] = {
    {"num_envs", (getter)vector_get_num_envs, NULL, "number of C envs", NULL},
    {"obs_size", (getter)vector_get_obs_size, NULL, "observation elements per agent", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject VectorType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pufferlib.envs.ocean._" PUFFER_ENV_NAME ".Vector",
    .tp_basicsize = sizeof(VectorObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "num_envs " PUFFER_ENV_NAME " envs stepped together over caller-provided buffers",
    .tp_new = vector_new,
    .tp_dealloc = (destructor)vector_dealloc,
    .tp_methods = vector_methods,
    .tp_getset = vector_getset,
};

// param_bounds(params) -> [(key, 'int' or 'float', low, high), ...]: the range my_init accepts for every parameter,
// in the order it reads them, given the other parameters in `params` (a bound may depend on one read before it,
// as bandit's best_arm < num_arms; an out-of-range value is clamped into range to work out the ones after it).
// The C side is the single source of truth for parameter ranges; the registry reads them here.
static PyObject* puffer_param_bounds(PyObject* module, PyObject* args) {
    PyObject* params;
    if (!PyArg_ParseTuple(args, "O!", &PyDict_Type, &params)) return NULL;
    Env* env = (Env*)calloc(1, sizeof(Env));
    if (env == NULL) return PyErr_NoMemory();
    puffer_num_params_read = 0;
    puffer_probing = 1;
    int failed = my_init(env, params);
    puffer_probing = 0;
    free(env);
    if (failed) return NULL;
    PyObject* bounds = PyList_New(puffer_num_params_read);
    for (int p = 0; bounds != NULL && p < puffer_num_params_read; p++) {
        PufferParam* param = &puffer_params_read[p];
        PyObject* item = param->is_float
            ? Py_BuildValue("(ssdd)", param->key, "float", param->low, param->high)
            : Py_BuildValue("(ssLL)", param->key, "int", (long long)param->low, (long long)param->high);
        if (item == NULL) { Py_CLEAR(bounds); break; }
        PyList_SET_ITEM(bounds, p, item);
    }
    return bounds;
}

// spec(params={}) -> dict: the env as declared in its binding, for the registry. 'description', 'defaults' (every
// parameter's default, int or float, in PARAMS order), 'agents_per_env', 'frame_shape' (FRAME_H, FRAME_W, 3), and
// for the defaults updated with `params` (an out-of-range value clamped into range): 'observation' (size, dtype,
// lows, highs) and 'action' ('discrete', n), ('multidiscrete', [n, ...]) or ('box', size).
#define PUFFER_DEFAULT_INT(name, default_value, low, high) \
    if (puffer_set_default(defaults, #name, PyLong_FromLong(default_value))) goto fail;
#define PUFFER_DEFAULT_FLOAT(name, default_value, low, high) \
    if (puffer_set_default(defaults, #name, PyFloat_FromDouble(default_value))) goto fail;
static int puffer_set_default(PyObject* dict, const char* key, PyObject* value) {
    int failed = value == NULL || PyDict_SetItemString(dict, key, value);
    Py_XDECREF(value);
    return failed ? -1 : 0;
}

// {parameter: default} in PARAMS order (a new reference, or NULL with an error set).
static PyObject* puffer_defaults(void) {
    PyObject* defaults = PyDict_New();
    if (defaults == NULL) goto fail;
    PARAMS(PUFFER_DEFAULT_INT, PUFFER_DEFAULT_FLOAT)
    return defaults;
fail:
    Py_XDECREF(defaults);
    return NULL;
}

// The module's NAMES list: one (name, description, {parameter: default}) per NAMES entry. A SET of a parameter that
// PARAMS does not declare, or an int parameter set to a fraction, fails the import with the name and the key.
static int puffer_set_override(PyObject* overrides, PyObject* defaults, const char* name, const char* key,
                               double value) {
    PyObject* declared = PyDict_GetItemString(defaults, key);  // borrowed
    if (declared == NULL) {
        PyErr_Format(PyExc_ValueError, "%s: NAMES entry %s sets '%s', which PARAMS does not declare", PUFFER_ENV_NAME,
                     name, key);
        return -1;
    }
    if (PyLong_Check(declared) && value != (double)(long long)value) {
        PyErr_Format(PyExc_ValueError, "%s: NAMES entry %s sets int parameter '%s' to a fraction", PUFFER_ENV_NAME,
                     name, key);
        return -1;
    }
    return puffer_set_default(overrides, key, PyLong_Check(declared) ? PyLong_FromLongLong((long long)value)
                                                                     : PyFloat_FromDouble(value));
}

#define PUFFER_NAME_SET(key, value) \
    if (puffer_set_override(overrides, defaults, name, #key, (double)(value))) goto fail;
#define PUFFER_NAME_ENTRY(entry_name, description, sets)                                    \
    {                                                                                       \
        const char* name = entry_name;                                                      \
        overrides = PyDict_New();                                                           \
        if (overrides == NULL) goto fail;                                                   \
        sets                                                                                \
        PyObject* entry = Py_BuildValue("(ssO)", name, description, overrides);             \
        if (entry == NULL || PyList_Append(names, entry)) { Py_XDECREF(entry); goto fail; } \
        Py_DECREF(entry);                                                                   \
        Py_CLEAR(overrides);                                                                \
    }
static PyObject* puffer_names(void) {
    PyObject *defaults = puffer_defaults(), *names = PyList_New(0), *overrides = NULL;
    if (defaults == NULL || names == NULL) goto fail;
    NAMES(PUFFER_NAME_ENTRY, PUFFER_NAME_SET)
    Py_DECREF(defaults);
    return names;
fail:
    Py_XDECREF(defaults);
    Py_XDECREF(names);
    Py_XDECREF(overrides);
    return NULL;
}

static PyObject* puffer_spec(PyObject* module, PyObject* args) {
    PyObject* params = NULL;
    if (!PyArg_ParseTuple(args, "|O!", &PyDict_Type, &params)) return NULL;
    PyObject *defaults = puffer_defaults(), *resolved = NULL, *lows = NULL, *highs = NULL, *action = NULL;
    PyObject* result = NULL;
    Env* env = (Env*)calloc(1, sizeof(Env));
    if (env == NULL || defaults == NULL) goto done;
    resolved = PyDict_Copy(defaults);
    if (resolved == NULL || (params != NULL && PyDict_Update(resolved, params))) goto done;
    puffer_num_params_read = 0;
    puffer_probing = 1;
    int failed = my_init(env, resolved);
    puffer_probing = 0;
    if (failed) goto done;
    int obs_size = OBS_SIZE(env);
    lows = PyList_New(obs_size);
    highs = PyList_New(obs_size);
    for (int i = 0; lows != NULL && highs != NULL && i < obs_size; i++) {
        PyList_SET_ITEM(lows, i, PyFloat_FromDouble((double)(OBS_LOW(env, i))));
        PyList_SET_ITEM(highs, i, PyFloat_FromDouble((double)(OBS_HIGH(env, i))));
    }
    if (lows == NULL || highs == NULL || PyErr_Occurred()) goto done;
    if (ACT_N(env, 0) == 0) {
        action = Py_BuildValue("(si)", "box", ACT_SIZE);
    } else if (ACT_SIZE == 1) {
        action = Py_BuildValue("(si)", "discrete", (int)(ACT_N(env, 0)));
    } else {
        PyObject* nvec = PyList_New(ACT_SIZE);
        for (int j = 0; nvec != NULL && j < ACT_SIZE; j++) PyList_SET_ITEM(nvec, j, PyLong_FromLong(ACT_N(env, j)));
        action = nvec == NULL ? NULL : Py_BuildValue("(sN)", "multidiscrete", nvec);
    }
    if (action == NULL) goto done;
#ifdef ACTION_MASK
    PyObject* action_mask = ACTION_MASK_ON(env) ? Py_True : Py_False;
#else
    PyObject* action_mask = Py_False;
#endif
    result = Py_BuildValue("{s:s,s:O,s:i,s:(iii),s:(isOO),s:O,s:O}", "description", DESCRIPTION, "defaults",
                           defaults, "agents_per_env", AGENTS(env), "frame_shape", FRAME_H, FRAME_W, 3, "observation",
                           obs_size, sizeof(OBS_TYPE) == sizeof(float) ? "float32" : "uint8", lows, highs, "action",
                           action, "action_mask", action_mask);
done:
    if (env == NULL) PyErr_NoMemory();
    free(env);
    Py_XDECREF(defaults);
    Py_XDECREF(resolved);
    Py_XDECREF(lows);
    Py_XDECREF(highs);
    Py_XDECREF(action);
    return result;
}

static PyMethodDef puffer_module_methods[] = {
    {"spec", (PyCFunction)puffer_spec, METH_VARARGS,
     "spec(params={}) -> dict: description, defaults, agents_per_env, frame_shape, observation and action spaces"},
    {"param_bounds", (PyCFunction)puffer_param_bounds, METH_VARARGS,
     "param_bounds(params) -> [(key, 'int'|'float', low, high)]: the accepted range of every env parameter"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef puffer_module = {
    PyModuleDef_HEAD_INIT, "pufferlib.envs.ocean._" PUFFER_ENV_NAME, "Ocean env " PUFFER_ENV_NAME " (C)", -1,
    puffer_module_methods,
};

PyMODINIT_FUNC PUFFER_CAT(PyInit__, ENV_NAME)(void) {
    if (PyType_Ready(&VectorType) < 0) return NULL;
    PyObject* module = PyModule_Create(&puffer_module);
    if (module == NULL) return NULL;
    Py_INCREF(&VectorType);
    PyObject* names = puffer_names();
    if (names == NULL || PyModule_AddObject(module, "NAMES", names) < 0) {
        Py_XDECREF(names);
        Py_DECREF(module);
        return NULL;
    }
    if (PyModule_AddObject(module, "Vector", (PyObject*)&VectorType) < 0
        || PyModule_AddIntConstant(module, "NUM_AGENTS", NUM_AGENTS) < 0
        || PyModule_AddIntConstant(module, "ACT_SIZE", ACT_SIZE) < 0
        || PyModule_AddIntConstant(module, "FRAME_H", FRAME_H) < 0
        || PyModule_AddIntConstant(module, "FRAME_W", FRAME_W) < 0
        || PyModule_AddIntConstant(module, "MAX_ENVS", PUFFER_MAX_ENVS) < 0
#ifdef ACTION_MASK
        || PyModule_AddIntConstant(module, "ACTION_MASK", 1) < 0
#else
        || PyModule_AddIntConstant(module, "ACTION_MASK", 0) < 0
#endif
        || PyModule_AddStringConstant(module, "OBS_DTYPE", sizeof(OBS_TYPE) == 4 ? "float32" : "uint8") < 0
        || PyModule_AddStringConstant(module, "ACT_DTYPE", (ACT_TYPE)0.5f == 0 ? "int32" : "float32") < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
#endif  // PUFFER_NO_PYTHON
#endif  // PUFFER_VECENV_H
