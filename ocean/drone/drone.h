// Drone: a quadcopter flies to moving targets. The agent sets the four rotor thrusts; simple rigid-body dynamics
// (gravity, rotor thrust and torques, linear and angular drag) advance at a fixed 50 Hz time step.
//
// Body frame: x forward, y left, z up. Rotors in a "+" layout at distance DRONE_ARM on +x, +y, -x, -y, spinning
// alternately (rotors 0 and 2 one way, 1 and 3 the other), so each pushes along body z and:
//   roll torque tau_x = arm (T1 - T3), pitch torque tau_y = arm (T2 - T0), yaw torque tau_z = k (T0 - T1 + T2 - T3).
// Action a_i in [-1, 1] sets T_i = (a_i + 1) / 2 * T_max with T_max = m g / 2: all zeros hover exactly.
// Integration is semi-implicit Euler: angular velocity, then orientation (a unit quaternion, renormalised), then
// velocity, then position. Speeds are capped (DRONE_MAX_SPEED, DRONE_MAX_SPIN) so nothing can blow up.
//
// A target moves at `target_speed` in a random direction inside 80% of the arena, bouncing off its faces. Coming
// within `target_radius` of it scores it (reward_reach) and a new target appears. Leaving the arena (a cube of
// half-side `arena` metres around the origin) is a crash: reward_crash and the episode ends.
#pragma once
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "puffer.h"

#define DRONE_DT 0.02f
#define DRONE_MASS 1.0f
#define DRONE_GRAVITY 9.81f
#define DRONE_ARM 0.15f
#define DRONE_IXX 0.01f
#define DRONE_IYY 0.01f
#define DRONE_IZZ 0.02f
#define DRONE_YAW_K 0.02f          // yaw torque per newton of thrust
#define DRONE_DRAG 0.1f            // linear drag, N per m/s
#define DRONE_SPIN_DRAG 0.002f     // angular drag, N m per rad/s
#define DRONE_T_MAX (DRONE_MASS * DRONE_GRAVITY / 2.0f)
#define DRONE_MAX_SPEED 20.0f      // m/s per axis
#define DRONE_MAX_SPIN 50.0f       // rad/s per axis
#define DRONE_TARGET_BOX 0.8f      // targets stay within this share of the arena
#define DRONE_OBS 24
#define FRAME_W 320
#define FRAME_H 160

#define OBS_TYPE float
#define ACT_TYPE float
#define LOG_STATS(X) \
    X(crashes)         /* share of episodes that ended by leaving the arena */ \
    X(final_distance)  /* distance to the current target when the episode ended, metres */
PUFFER_LOG(LOG_STATS)   // score: targets reached per episode

typedef struct {
    PUFFER_ENV_FIELDS
    // parameters
    int max_steps;
    float arena;           // half-side of the arena cube, metres
    float target_speed;    // m/s
    float target_radius;   // metres
    float reward_reach;
    float reward_distance; // per metre of distance gained towards the target (potential shaping)
    float reward_crash;
    // state
    float pos[3], vel[3];  // world frame
    float quat[4];         // orientation, body to world: w, x, y, z
    float omega[3];        // angular velocity, body frame
    float target[3], target_vel[3];
    int steps, reached;
    float episode_return;
} Drone;

static inline float drone_clamp(float v, float low, float high) { return v < low ? low : v > high ? high : v; }

// Rotation matrix (row-major) of a unit quaternion: world = R body.
static inline void drone_rotation(const float* q, float* r) {
    float w = q[0], x = q[1], y = q[2], z = q[3];
    r[0] = 1 - 2 * (y * y + z * z); r[1] = 2 * (x * y - w * z);     r[2] = 2 * (x * z + w * y);
    r[3] = 2 * (x * y + w * z);     r[4] = 1 - 2 * (x * x + z * z); r[5] = 2 * (y * z - w * x);
    r[6] = 2 * (x * z - w * y);     r[7] = 2 * (y * z + w * x);     r[8] = 1 - 2 * (x * x + y * y);
}

static inline float drone_distance(const Drone* env) {
    float dx = env->target[0] - env->pos[0], dy = env->target[1] - env->pos[1], dz = env->target[2] - env->pos[2];
    return sqrtf(dx * dx + dy * dy + dz * dz);
}

// Observation, every element in [-1, 1]: target - position over 2 arena (3), velocity / 10 (3), rotation matrix
// row-major (9), angular velocity / 20 (3), target velocity / 2 (3), position / arena (3).
static void drone_write_obs(Drone* env) {
    float* obs = env->observations;
    float r[9];
    drone_rotation(env->quat, r);
    float scale = 0.5f / env->arena;
    for (int i = 0; i < 3; i++) {
        obs[i] = drone_clamp((env->target[i] - env->pos[i]) * scale, -1.0f, 1.0f);
        obs[3 + i] = drone_clamp(env->vel[i] * 0.1f, -1.0f, 1.0f);
        obs[15 + i] = drone_clamp(env->omega[i] * 0.05f, -1.0f, 1.0f);
        obs[18 + i] = drone_clamp(env->target_vel[i] * 0.5f, -1.0f, 1.0f);
        obs[21 + i] = drone_clamp(env->pos[i] / env->arena, -1.0f, 1.0f);
    }
    for (int i = 0; i < 9; i++) obs[6 + i] = drone_clamp(r[i], -1.0f, 1.0f);
}

static void drone_new_target(Drone* env) {
    float box = DRONE_TARGET_BOX * env->arena;
    float dir[3], norm = 0.0f;
    do {   // a uniformly random direction: rejection from the unit ball
        norm = 0.0f;
        for (int i = 0; i < 3; i++) {
            dir[i] = rng_uniform(&env->rng, -1.0f, 1.0f);
            norm += dir[i] * dir[i];
        }
    } while (norm > 1.0f || norm < 1e-4f);
    norm = sqrtf(norm);
    for (int i = 0; i < 3; i++) {
        env->target[i] = rng_uniform(&env->rng, -box, box);
        env->target_vel[i] = env->target_speed * dir[i] / norm;
    }
}

static void drone_new_episode(Drone* env) {
    float start = 0.5f * env->arena;
    for (int i = 0; i < 3; i++) {
        env->pos[i] = rng_uniform(&env->rng, -start, start);
        env->vel[i] = 0.0f;
        env->omega[i] = 0.0f;
    }
    env->quat[0] = 1.0f;
    env->quat[1] = env->quat[2] = env->quat[3] = 0.0f;
    drone_new_target(env);
    env->steps = 0;
    env->reached = 0;
    env->episode_return = 0.0f;
    drone_write_obs(env);
}

// One physics step of the drone with rotor thrusts t[4] (newtons); the target moves too.
static void drone_physics(Drone* env, const float* t) {
    const float dt = DRONE_DT;
    float torque[3] = {DRONE_ARM * (t[1] - t[3]), DRONE_ARM * (t[2] - t[0]),
                       DRONE_YAW_K * (t[0] - t[1] + t[2] - t[3])};
    const float inertia[3] = {DRONE_IXX, DRONE_IYY, DRONE_IZZ};
    float* w = env->omega;
    float lw[3] = {inertia[0] * w[0], inertia[1] * w[1], inertia[2] * w[2]};
    float gyro[3] = {w[1] * lw[2] - w[2] * lw[1], w[2] * lw[0] - w[0] * lw[2], w[0] * lw[1] - w[1] * lw[0]};
    for (int i = 0; i < 3; i++) {
        float accel = (torque[i] - gyro[i] - DRONE_SPIN_DRAG * w[i]) / inertia[i];
        w[i] = drone_clamp(w[i] + dt * accel, -DRONE_MAX_SPIN, DRONE_MAX_SPIN);
    }
    // q' = q + dt/2 q (0, w), then renormalise.
    float* q = env->quat;
    float dq[4] = {-q[1] * w[0] - q[2] * w[1] - q[3] * w[2], q[0] * w[0] + q[2] * w[2] - q[3] * w[1],
                   q[0] * w[1] - q[1] * w[2] + q[3] * w[0], q[0] * w[2] + q[1] * w[1] - q[2] * w[0]};
    float norm = 0.0f;
    for (int i = 0; i < 4; i++) {
        q[i] += 0.5f * dt * dq[i];
        norm += q[i] * q[i];
    }
    norm = 1.0f / sqrtf(norm);
    for (int i = 0; i < 4; i++) q[i] *= norm;
    float r[9];
    drone_rotation(q, r);
    float thrust = t[0] + t[1] + t[2] + t[3];
    for (int i = 0; i < 3; i++) {
        float force = r[3 * i + 2] * thrust - DRONE_DRAG * env->vel[i] - (i == 2 ? DRONE_MASS * DRONE_GRAVITY : 0.0f);
        env->vel[i] = drone_clamp(env->vel[i] + dt * force / DRONE_MASS, -DRONE_MAX_SPEED, DRONE_MAX_SPEED);
        env->pos[i] += dt * env->vel[i];
    }
    float box = DRONE_TARGET_BOX * env->arena;
    for (int i = 0; i < 3; i++) {
        env->target[i] += dt * env->target_vel[i];
        if (env->target[i] > box || env->target[i] < -box) {   // bounce: mirror the overshoot, reverse
            env->target[i] = (env->target[i] > box ? 2 * box : -2 * box) - env->target[i];
            env->target_vel[i] = -env->target_vel[i];
        }
        env->target[i] = drone_clamp(env->target[i], -box, box);
    }
}

void c_step(Drone* env) {
    float thrust[4];
    for (int i = 0; i < 4; i++) thrust[i] = (env->actions[i] + 1.0f) * 0.5f * DRONE_T_MAX;
    float before = drone_distance(env);
    drone_physics(env, thrust);
    float after = drone_distance(env);
    float reward = env->reward_distance * (before - after);
    int reach = after < env->target_radius;
    if (reach) {
        reward += env->reward_reach;
        env->reached++;
        drone_new_target(env);
    }
    int crash = 0;
    for (int i = 0; i < 3; i++) crash |= fabsf(env->pos[i]) > env->arena;
    reward += crash ? env->reward_crash : 0.0f;
    env->steps++;
    env->episode_return += reward;
    int truncated = !crash && env->steps >= env->max_steps;
    puffer_write_step(env, reward, crash, truncated);
    if (crash || truncated) {
        puffer_log_episode(env, env->reached, env->episode_return, env->steps);
        env->log.crashes += (float)crash;
        env->log.final_distance += drone_distance(env);
        drone_new_episode(env);
    } else {
        drone_write_obs(env);
    }
}

// Two views: from above (x right, y up) on the left, from the side (x right, z up) on the right. The arena fills
// each 160 x 160 panel; the arms are drawn in their projection, rotor 0 (the front) in orange.
void c_render(Drone* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BACKGROUND);
    float r[9];
    drone_rotation(env->quat, r);
    const float arm_scale = 4.0f;   // arms drawn 4x longer than they are, to be visible
    for (int panel = 0; panel < 2; panel++) {
        int left = panel * 160, vertical = panel == 0 ? 1 : 2;
        float scale = 75.0f / env->arena;
        draw_line(canvas, left + 2, 2, left + 157, 2, COLOR_GRAY);
        draw_line(canvas, left + 2, 157, left + 157, 157, COLOR_GRAY);
        draw_line(canvas, left + 2, 2, left + 2, 157, COLOR_GRAY);
        draw_line(canvas, left + 157, 2, left + 157, 157, COLOR_GRAY);
        int tx = left + 80 + (int)(env->target[0] * scale), ty = 80 - (int)(env->target[vertical] * scale);
        draw_circle(canvas, tx, ty, (int)(env->target_radius * scale) + 1, COLOR_GREEN);
        int cx = left + 80 + (int)(env->pos[0] * scale), cy = 80 - (int)(env->pos[vertical] * scale);
        static const float arms[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
        for (int k = 0; k < 4; k++) {
            float bx = arms[k][0] * DRONE_ARM * arm_scale, by = arms[k][1] * DRONE_ARM * arm_scale;
            float wx = r[0] * bx + r[1] * by, wv = r[3 * vertical] * bx + r[3 * vertical + 1] * by;
            int ex = cx + (int)(wx * scale), ey = cy - (int)(wv * scale);
            draw_line(canvas, cx, cy, ex, ey, COLOR_WHITE);
            draw_circle(canvas, ex, ey, 2, k == 0 ? COLOR_ORANGE : COLOR_CYAN);
        }
    }
    draw_textf(canvas, 6, 6, 2, COLOR_YELLOW, "%d", env->reached);
}

int c_render_text(Drone* env, char* buffer, int size) {
    int length = 0;
    text_append(buffer, size, &length, "pos %.2f %.2f %.2f  vel %.2f %.2f %.2f\n", env->pos[0], env->pos[1],
                env->pos[2], env->vel[0], env->vel[1], env->vel[2]);
    text_append(buffer, size, &length, "quat %.3f %.3f %.3f %.3f  omega %.2f %.2f %.2f\n", env->quat[0], env->quat[1],
                env->quat[2], env->quat[3], env->omega[0], env->omega[1], env->omega[2]);
    text_append(buffer, size, &length, "target %.2f %.2f %.2f  distance %.2f  reached %d  step %d\n", env->target[0],
                env->target[1], env->target[2], drone_distance(env), env->reached, env->steps);
    return length;
}

PUFFER_PLAIN_LIFECYCLE(Drone, drone_new_episode)
