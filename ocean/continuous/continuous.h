// continuous: a Box action sanity check. Each one-step episode shows a target point in [-1, 1]^2; the action (a
// point in the same square) earns 1 - mean |action - target|. Score: 1 if every coordinate is within `tolerance`.
#include "puffer.h"

#define FRAME_W 128
#define FRAME_H 128
#define CONTINUOUS_DIMS 2

#define OBS_TYPE float
#define ACT_TYPE float
#define LOG_STATS(X) \
    X(error) /* mean |action - target| */
PUFFER_LOG(LOG_STATS)

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: the target, CONTINUOUS_DIMS floats in [-1, 1]
    // actions: CONTINUOUS_DIMS floats, clamped into [-1, 1] by the binding
    float tolerance;
    float target[CONTINUOUS_DIMS];
    float last_action[CONTINUOUS_DIMS];
} Continuous;

int c_init(Continuous* env) { return 0; }

void c_reset(Continuous* env) {
    for (int d = 0; d < CONTINUOUS_DIMS; d++)
        env->observations[d] = env->target[d] = rng_uniform(&env->rng, -1.0f, 1.0f);
}

void c_step(Continuous* env) {
    float error = 0, worst = 0;
    for (int d = 0; d < CONTINUOUS_DIMS; d++) {
        float distance = fabsf(env->actions[d] - env->target[d]);
        error += distance / CONTINUOUS_DIMS;
        worst = distance > worst ? distance : worst;
        env->last_action[d] = env->actions[d];
    }
    env->rewards[0] = 1.0f - error;
    env->terminals[0] = 1;
    env->truncations[0] = 0;
    env->log.score += (float)(worst <= env->tolerance);
    env->log.episode_return += 1.0f - error;
    env->log.episode_length += 1;
    env->log.error += error;
    env->log.n += 1;
    c_reset(env);
}

static int continuous_pixel(float value, int size) { return (int)((value + 1.0f) * 0.5f * (float)(size - 1)); }

void c_render(Continuous* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BACKGROUND);
    draw_circle(canvas, continuous_pixel(env->target[0], FRAME_W), continuous_pixel(env->target[1], FRAME_H), 6,
                COLOR_GREEN);
    draw_circle(canvas, continuous_pixel(env->last_action[0], FRAME_W), continuous_pixel(env->last_action[1], FRAME_H),
                3, COLOR_CYAN);
}

int c_render_text(Continuous* env, char* buffer, int size) {
    int length = 0;
    text_append(buffer, size, &length, "target (%+.2f, %+.2f)  last action (%+.2f, %+.2f)\n", env->target[0],
                env->target[1], env->last_action[0], env->last_action[1]);
    return length;
}

void c_close(Continuous* env) {}
