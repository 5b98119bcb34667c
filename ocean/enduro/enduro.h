// Enduro: an endurance race in the spirit of the Atari 2600 game, with ALE-like scoring (+1 for each car passed,
// -1 for each car that passes you back) and conventions (`frameskip` frames per agent step, sticky actions, the
// game's nine minimal actions in ALE's order). Geometry, speeds and timings are this file's own, not the ROM's.
//
// The race runs in days of `day_frames` frames. Day 1 asks for 200 cars passed, every later day for 300; a day
// that ends short of its quota ends the game. Each day passes through phases: daylight, snow (the car slides: its
// sideways speed carries over), dusk, night (only cars within 40 m are visible), fog (20 m), dawn.
//
// The road is seen from above as a straight strip: the player's car has a sideways position x in [-1, 1] (the
// road's edges) and a speed v in [0, 1] metres a frame; the other cars sit in three lanes (x = -0.6, 0, 0.6) at a
// distance z ahead (negative: behind) and drive at 0.3-0.6 m a frame. Curves push the car sideways in proportion to
// its speed. Driving off the edge slows it; running into a slower car (|dz| < 4 m, |dx| < 0.3) stops it dead and
// shoves that car ahead (faster cars overtaking from behind never collide). A car that falls 10 m behind
// reappears 120-160 m ahead; one that pulls 160 m ahead reappears 10 m behind, so a slow player is passed.
#pragma once
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "puffer.h"

#define ENDURO_CARS 8
#define ENDURO_NUM_ACTIONS 9   // NOOP FIRE RIGHT LEFT DOWN DOWNRIGHT DOWNLEFT RIGHTFIRE LEFTFIRE
#define ENDURO_VMAX 1.0f
#define ENDURO_ACCEL 0.01f     // per frame with FIRE
#define ENDURO_BRAKE 0.04f     // per frame with DOWN
#define ENDURO_COAST 0.002f    // per frame otherwise
#define ENDURO_STEER 0.03f     // sideways per frame
#define ENDURO_CURVE_PUSH 0.006f
#define ENDURO_VIEW 120.0f     // metres visible ahead in daylight
#define ENDURO_BEHIND -10.0f
#define ENDURO_AHEAD 160.0f
#define ENDURO_CAR_LENGTH 4.0f
#define ENDURO_CAR_WIDTH 0.3f
#define ENDURO_OBS (8 + 4 * ENDURO_CARS)
#define FRAME_W 160
#define FRAME_H 210

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(days)         /* days completed (quota met) per game */ \
    X(collisions)   /* cars hit per game */
PUFFER_LOG(LOG_STATS)   // score: net cars passed per game (the Atari score)

enum { ENDURO_DAY, ENDURO_SNOW, ENDURO_DUSK, ENDURO_NIGHT, ENDURO_FOG, ENDURO_DAWN, ENDURO_PHASES };
// Where each phase ends, as a share of the day, and how far one sees in it.
static const float ENDURO_PHASE_END[ENDURO_PHASES] = {0.25f, 0.40f, 0.55f, 0.80f, 0.90f, 1.0f};
static const float ENDURO_VISIBILITY[ENDURO_PHASES] = {120.0f, 120.0f, 80.0f, 40.0f, 20.0f, 80.0f};

typedef struct {
    PUFFER_ENV_FIELDS
    // parameters
    int frameskip;
    float repeat_action_probability;
    int day_frames;
    int max_days;          // the game is truncated after this many days
    float reward_speed;    // optional shaping (0 = ALE's rewards): per frame, times the speed (0 to 1)
    // state
    float x, v, slide;     // player: sideways position, speed, sideways speed (carried over only in snow)
    float car_z[ENDURO_CARS], car_x[ENDURO_CARS], car_v[ENDURO_CARS];
    float curve;           // -1 .. 1: the road bends left (-) or right (+)
    int curve_frames;      // frames until the curve changes
    int last_action;
    int frame;             // frame of the current day
    int day;               // 0-based
    int day_passed;        // net cars passed today (never below 0)
    int score, collisions;
    float episode_return;
} Enduro;

static inline float enduro_clamp(float v, float low, float high) { return v < low ? low : v > high ? high : v; }

static inline int enduro_phase(const Enduro* env) {
    float share = (float)env->frame / (float)env->day_frames;
    int phase = 0;
    while (phase < ENDURO_PHASES - 1 && share >= ENDURO_PHASE_END[phase]) phase++;
    return phase;
}

static inline int enduro_quota(const Enduro* env) { return env->day == 0 ? 200 : 300; }

static void enduro_place_car(Enduro* env, int i, float z) {
    static const float lanes[3] = {-0.6f, 0.0f, 0.6f};
    env->car_z[i] = z;
    env->car_x[i] = lanes[rng_int(&env->rng, 3)];
    env->car_v[i] = rng_uniform(&env->rng, 0.3f, 0.6f);
}

// Observation: speed, x, sideways speed / 0.05, curve, share of the day gone, cars still to pass today / quota,
// visibility / 120, snow (0/1); then per car slot: visible (0/1), and if visible its distance / 120 (clipped to
// [-1, 1]), its sideways offset from the player / 2, its speed minus the player's.
static void enduro_write_obs(Enduro* env) {
    float* obs = env->observations;
    int phase = enduro_phase(env);
    float visibility = ENDURO_VISIBILITY[phase];
    int left = enduro_quota(env) - env->day_passed;
    obs[0] = env->v / ENDURO_VMAX;
    obs[1] = env->x;
    obs[2] = enduro_clamp(env->slide / 0.05f, -1.0f, 1.0f);
    obs[3] = env->curve;
    obs[4] = (float)env->frame / (float)env->day_frames;
    obs[5] = left > 0 ? (float)left / (float)enduro_quota(env) : 0.0f;
    obs[6] = visibility / ENDURO_VIEW;
    obs[7] = (float)(phase == ENDURO_SNOW);
    for (int i = 0; i < ENDURO_CARS; i++) {
        float* car = obs + 8 + 4 * i;
        int seen = env->car_z[i] <= visibility;
        car[0] = (float)seen;
        car[1] = seen ? enduro_clamp(env->car_z[i] / ENDURO_VIEW, -1.0f, 1.0f) : 0.0f;
        car[2] = seen ? (env->car_x[i] - env->x) * 0.5f : 0.0f;
        car[3] = seen ? enduro_clamp(env->car_v[i] - env->v, -1.0f, 1.0f) : 0.0f;
    }
}

static void enduro_new_game(Enduro* env) {
    env->x = 0.0f;
    env->v = 0.0f;
    env->slide = 0.0f;
    for (int i = 0; i < ENDURO_CARS; i++) enduro_place_car(env, i, 30.0f + 17.0f * (float)i);
    env->curve = 0.0f;
    env->curve_frames = 300;
    env->last_action = env->frame = env->day = env->day_passed = env->score = env->collisions = 0;
    env->episode_return = 0.0f;
    enduro_write_obs(env);
}

// One frame; returns the change of score (net cars passed, which never takes today's count below 0).
static int enduro_frame(Enduro* env, int action) {
    static const float accel[ENDURO_NUM_ACTIONS] = {0, 1, 0, 0, -1, -1, -1, 1, 1};
    static const float steer[ENDURO_NUM_ACTIONS] = {0, 0, 1, -1, 0, 1, -1, 1, -1};
    float a = accel[action];
    float dv = a > 0 ? ENDURO_ACCEL : a < 0 ? -ENDURO_BRAKE : -ENDURO_COAST;
    env->v = enduro_clamp(env->v + dv, 0.0f, ENDURO_VMAX);
    int snow = enduro_phase(env) == ENDURO_SNOW;
    float push = steer[action] * ENDURO_STEER - env->curve * ENDURO_CURVE_PUSH * env->v / ENDURO_VMAX;
    env->slide = snow ? 0.9f * env->slide + 0.1f * push : push;
    env->x += env->slide;
    if (env->x < -1.0f || env->x > 1.0f) {   // on the verge: slowed down
        env->x = enduro_clamp(env->x, -1.0f, 1.0f);
        env->v *= 0.97f;
    }
    if (--env->curve_frames <= 0) {
        env->curve = (float)(rng_int(&env->rng, 3) - 1) * rng_uniform(&env->rng, 0.5f, 1.0f);
        env->curve_frames = 200 + rng_int(&env->rng, 400);
    }
    int points = 0;
    for (int i = 0; i < ENDURO_CARS; i++) {
        float before = env->car_z[i];
        float z = before + env->car_v[i] - env->v;
        int touching = fabsf(z) < ENDURO_CAR_LENGTH && fabsf(env->car_x[i] - env->x) < ENDURO_CAR_WIDTH;
        if (touching && env->v > env->car_v[i]) {
            env->v = 0.0f;                               // a crash: stopped dead, the other car shoved ahead
            z = ENDURO_CAR_LENGTH + 1.0f;
            env->collisions++;
        }
        env->car_z[i] = z;
        if (before >= 0.0f && z < 0.0f) points++;
        if (before < 0.0f && z >= 0.0f) points--;
        if (z < ENDURO_BEHIND) enduro_place_car(env, i, rng_uniform(&env->rng, 120.0f, ENDURO_AHEAD));
        else if (z > ENDURO_AHEAD) enduro_place_car(env, i, ENDURO_BEHIND + 0.5f);
    }
    if (env->day_passed + points < 0) points = -env->day_passed;
    env->day_passed += points;
    env->frame++;
    return points;
}

void c_step(Enduro* env) {
    int points = 0, lost = 0, truncated = 0;
    float speed = 0.0f;
    for (int f = 0; f < env->frameskip && !lost && !truncated; f++) {
        int action = sticky_action(&env->rng, env->actions[0], &env->last_action, env->repeat_action_probability);
        points += enduro_frame(env, action);
        speed += env->v;
        if (env->frame >= env->day_frames) {   // end of the day: quota met -> next day, else game over
            if (env->day_passed < enduro_quota(env)) {
                lost = 1;
            } else {
                env->day++;
                env->frame = 0;
                env->day_passed = 0;
                truncated = env->day >= env->max_days;
            }
        }
    }
    env->score += points;
    float reward = (float)points + env->reward_speed * speed;
    env->episode_return += reward;
    puffer_write_step(env, reward, lost, truncated);
    if (lost || truncated) {
        puffer_log_episode(env, env->score, env->episode_return,
                           (env->day * env->day_frames + env->frame + env->frameskip - 1) / env->frameskip);
        env->log.days += (float)env->day;
        env->log.collisions += (float)env->collisions;
        enduro_new_game(env);
    } else {
        enduro_write_obs(env);
    }
}

// A chase view: the road narrows toward the horizon (y = 60); cars are drawn by distance, the player at the bottom.
void c_render(Enduro* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    int phase = enduro_phase(env);
    static const Color sky[ENDURO_PHASES] = {{90, 140, 220}, {200, 200, 220}, {200, 110, 60}, {10, 10, 30},
                                             {150, 150, 150}, {220, 150, 120}};
    static const Color ground[ENDURO_PHASES] = {{50, 140, 50}, {235, 235, 240}, {60, 100, 40}, {5, 20, 5},
                                                {120, 120, 120}, {60, 120, 50}};
    draw_clear(canvas, ground[phase]);
    draw_rect(canvas, 0, 0, FRAME_W, 60, sky[phase]);
    float visibility = ENDURO_VISIBILITY[phase];
    // Row y (60 .. 209) shows distance z = 1800 / (y - 45) - 12 (about 108 m at the horizon, -10 at the bottom).
    for (int y = 60; y < FRAME_H; y++) {
        float z = 1800.0f / (float)(y - 45) - 12.0f;
        float half = 70.0f * (float)(y - 45) / (float)(FRAME_H - 45);
        float bend = env->curve * 2000.0f / (float)(y - 30) * 0.05f;
        int centre = 80 + (int)(bend - env->x * half), edge = (int)half;   // the player stays in the middle
        Color road = z <= visibility ? (Color){100, 100, 100} : (Color){40, 40, 40};
        draw_rect(canvas, centre - edge, y, 2 * edge, 1, road);
        draw_pixel(canvas, centre - edge, y, COLOR_WHITE);
        draw_pixel(canvas, centre + edge - 1, y, COLOR_WHITE);
    }
    for (int i = 0; i < ENDURO_CARS; i++) {
        float z = env->car_z[i];
        if (z > visibility || z < ENDURO_BEHIND) continue;
        int y = 45 + (int)(1800.0f / (z + 12.0f));
        float half = 70.0f * (float)(y - 45) / (float)(FRAME_H - 45);
        int w = 4 + (int)(half * 0.25f);
        int cx = 80 + (int)((env->car_x[i] - env->x) * half);
        Color color = phase == ENDURO_NIGHT || phase == ENDURO_FOG ? COLOR_RED : COLOR_BLUE;
        draw_rect(canvas, cx - w / 2, y - w / 2, w, w / 2 + 1, color);
    }
    draw_rect(canvas, 80 - 9, FRAME_H - 14, 18, 10, COLOR_PURPLE);
    draw_textf(canvas, 4, 4, 2, COLOR_WHITE, "%d", enduro_quota(env) - env->day_passed);
    draw_textf(canvas, 100, 4, 2, COLOR_WHITE, "DAY %d", env->day + 1);
    draw_rect(canvas, 4, 20, (int)(env->v / ENDURO_VMAX * 60.0f), 4, COLOR_YELLOW);   // speedometer
    draw_rect(canvas, 76 + (int)(env->x * 70.0f), 28, 8, 4, COLOR_ORANGE);            // where on the road
}

int c_render_text(Enduro* env, char* buffer, int size) {
    static const char* names[ENDURO_PHASES] = {"day", "snow", "dusk", "night", "fog", "dawn"};
    int length = 0;
    text_append(buffer, size, &length, "day %d (%s) frame %d/%d  passed %d/%d  score %d\n", env->day + 1,
                names[enduro_phase(env)], env->frame, env->day_frames, env->day_passed, enduro_quota(env), env->score);
    text_append(buffer, size, &length, "x %.2f  speed %.2f  curve %.2f\n", env->x, env->v, env->curve);
    for (int i = 0; i < ENDURO_CARS; i++)
        text_append(buffer, size, &length, "car %d: z %.1f  x %.1f  speed %.2f\n", i, env->car_z[i], env->car_x[i],
                    env->car_v[i]);
    return length;
}

PUFFER_PLAIN_LIFECYCLE(Enduro, enduro_new_game)
