// spaces: an observation made of two parts, a 5x5 binary image and a vector of 3 floats, answered with two discrete
// actions at once (MultiDiscrete [2, 2]). Action 0 must say whether most image cells are 1; action 1 whether the
// first float is positive. Each correct part earns 0.5; episodes last one step. Checks that a policy reads both
// observation parts and drives both action heads. Score: 1 if both parts were right.
#include "puffer.h"

#define FRAME_W 128
#define FRAME_H 128
#define SPACES_SIDE 5
#define SPACES_IMAGE (SPACES_SIDE * SPACES_SIDE)
#define SPACES_FLAT 3

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(image_correct) /* rate of correct answers for each part */ \
    X(flat_correct)
PUFFER_LOG(LOG_STATS)

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: SPACES_IMAGE cells in {0, 1}, then SPACES_FLAT floats in [-1, 1]
    // actions: [majority of the image, sign of the first float]
    int image_answer, flat_answer;
    int last_actions[2];
} Spaces;

int c_init(Spaces* env) { return 0; }

void c_reset(Spaces* env) {
    int ones = 0;
    for (int i = 0; i < SPACES_IMAGE; i++) {
        int bit = rng_int(&env->rng, 2);
        env->observations[i] = (float)bit;
        ones += bit;
    }
    for (int i = 0; i < SPACES_FLAT; i++) env->observations[SPACES_IMAGE + i] = rng_uniform(&env->rng, -1.0f, 1.0f);
    env->image_answer = 2 * ones > SPACES_IMAGE;
    env->flat_answer = env->observations[SPACES_IMAGE] > 0;
    env->last_actions[0] = env->last_actions[1] = -1;
}

void c_step(Spaces* env) {
    int image_correct = env->actions[0] == env->image_answer;
    int flat_correct = env->actions[1] == env->flat_answer;
    float reward = 0.5f * (float)(image_correct + flat_correct);
    env->rewards[0] = reward;
    env->terminals[0] = 1;
    env->truncations[0] = 0;
    env->log.score += (float)(image_correct && flat_correct);
    env->log.episode_return += reward;
    env->log.episode_length += 1;
    env->log.image_correct += (float)image_correct;
    env->log.flat_correct += (float)flat_correct;
    env->log.n += 1;
    c_reset(env);
}

void c_render(Spaces* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BACKGROUND);
    int cell = 16;
    for (int i = 0; i < SPACES_IMAGE; i++)
        draw_rect(canvas, 8 + (i % SPACES_SIDE) * cell, 8 + (i / SPACES_SIDE) * cell, cell - 2, cell - 2,
                  env->observations[i] > 0 ? COLOR_WHITE : COLOR_GRAY);
    for (int i = 0; i < SPACES_FLAT; i++) {
        float value = env->observations[SPACES_IMAGE + i];
        int length = (int)(fabsf(value) * 20);
        draw_rect(canvas, value > 0 ? 108 : 108 - length, 8 + i * 12, length, 8, value > 0 ? COLOR_GREEN : COLOR_RED);
    }
}

int c_render_text(Spaces* env, char* buffer, int size) {
    int length = 0;
    for (int i = 0; i < SPACES_IMAGE; i++)
        text_append(buffer, size, &length, "%c%s", env->observations[i] > 0 ? '#' : '.',
                    i % SPACES_SIDE == SPACES_SIDE - 1 ? "\n" : "");
    text_append(buffer, size, &length, "flat %+.2f %+.2f %+.2f\n", env->observations[SPACES_IMAGE],
                env->observations[SPACES_IMAGE + 1], env->observations[SPACES_IMAGE + 2]);
    return length;
}

void c_close(Spaces* env) {}
