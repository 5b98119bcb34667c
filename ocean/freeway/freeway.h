// Freeway: a chicken crosses ten lanes of traffic, again and again, for 2 minutes 16 seconds of game time; each
// crossing scores one point. A remake of the Atari 2600 game's rules (one chicken, the first difficulty: a car
// knocks the chicken back about a lane) with ALE-like conventions: `frameskip` frames per agent step, sticky
// actions (`repeat_action_probability` per frame, ALE's default 0.25), the game's minimal actions (NOOP, UP, DOWN)
// and a reward of +1 per crossing, so scores compare with `atari_freeway`. Geometry and car speeds are this
// file's own, not the ROM's.
//
// Screen coordinates are 160 x 210 pixels, y down, 60 frames a second. The road runs from y = 26 to 186: ten
// 16-pixel lanes, lane 0 at the bottom. One car per lane (8 x 8 pixels) moves at a fixed speed, the bottom five to
// the right and the top five to the left, slowest at the edges, fastest in the middle; cars wrap around the
// screen edges. The chicken (7 x 8 pixels) walks up or down 1 pixel a frame in the column x = 44..50 from the
// sidewalk (top edge at y = 190); reaching the top sidewalk (its bottom edge at or above y = 26) scores, and it
// starts again at the bottom. A car that touches it knocks it 2 pixels a frame down for 16 frames (32 pixels, two
// lanes), during which it cannot move or be hit.
#pragma once
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "puffer.h"

#define FW_LANES 10
#define FW_SCREEN_W 160
#define FW_SCREEN_H 210
#define FW_ROAD_TOP 26
#define FW_LANE_H 16
#define FW_ROAD_BOTTOM (FW_ROAD_TOP + FW_LANES * FW_LANE_H)
#define FW_CHICKEN_X 44
#define FW_CHICKEN_W 7
#define FW_CHICKEN_H 8
#define FW_START_Y 190                              // the chicken's top edge at the start of each crossing
#define FW_FINISH_Y (FW_ROAD_TOP - FW_CHICKEN_H)    // top edge at which it has crossed
#define FW_CAR_W 8
#define FW_CAR_H 8
#define FW_STUN_FRAMES 16
#define FW_KNOCK_PIXELS 2                           // per stunned frame
#define FW_OBS (3 + 2 * FW_LANES)
#define FW_MAX_SPEED 2.0f
#define FW_NUM_ACTIONS 3                            // 0 NOOP, 1 UP, 2 DOWN
#define FRAME_W FW_SCREEN_W
#define FRAME_H FW_SCREEN_H

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) X(hits)   /* times a car hit the chicken per game */
PUFFER_LOG(LOG_STATS)   // score: crossings per game (the Atari score)

// Pixels per frame of the car in each lane, bottom (lane 0) to top: positive moves right.
static const float FW_LANE_SPEED[FW_LANES] = {0.5f, 0.75f, 1.0f, 1.5f, 2.0f, -2.0f, -1.5f, -1.0f, -0.75f, -0.5f};

typedef struct {
    PUFFER_ENV_FIELDS
    // parameters
    int frameskip;
    float repeat_action_probability;
    int game_frames;       // length of a game in frames (8160 = 2:16 at 60 frames a second)
    int random_start;      // 1: cars start at random places each game; 0: always the same places
    float reward_progress; // optional shaping (0 = ALE's rewards): for each lane first reached in a crossing
    // state
    float car_x[FW_LANES]; // left edge of each lane's car, [0, 160)
    int chicken_y;         // top edge of the chicken
    int stun;              // frames of knock-back left
    int last_action;       // the action of the last frame (sticky actions repeat it)
    int frame;             // frames played this game
    int score, hits;
    int best_lane;         // lanes reached in this crossing so far (for reward_progress)
    float episode_return;
} Freeway;

// Lane whose band [top, top + 16) holds row y, or -1 outside the road.
static inline int fw_lane_of(int y) {
    return y >= FW_ROAD_TOP && y < FW_ROAD_BOTTOM ? (FW_ROAD_BOTTOM - 1 - y) / FW_LANE_H : -1;
}

static inline float fw_car_top(int lane) {
    return (float)(FW_ROAD_BOTTOM - (lane + 1) * FW_LANE_H + (FW_LANE_H - FW_CAR_H) / 2);
}

// Horizontal offset of the car from the chicken's left edge, wrapped into [-80, 80).
static inline float fw_car_offset(const Freeway* env, int lane) {
    float dx = env->car_x[lane] - (float)FW_CHICKEN_X;
    if (dx >= FW_SCREEN_W / 2) dx -= FW_SCREEN_W;
    if (dx < -FW_SCREEN_W / 2) dx += FW_SCREEN_W;
    return dx;
}

// Observation: the chicken's progress (0 at the start, 1 crossed), knock-back frames left / 16, game time left
// (1 to 0), then per lane bottom to top the car's offset from the chicken / 80 (in [-1, 1), cars wrap), then per
// lane its speed / 2.
static void fw_write_obs(Freeway* env) {
    float* obs = env->observations;
    obs[0] = (float)(FW_START_Y - env->chicken_y) / (float)(FW_START_Y - FW_FINISH_Y);
    obs[1] = (float)env->stun / (float)FW_STUN_FRAMES;
    obs[2] = 1.0f - (float)env->frame / (float)env->game_frames;
    for (int lane = 0; lane < FW_LANES; lane++) {
        obs[3 + lane] = fw_car_offset(env, lane) / (float)(FW_SCREEN_W / 2);
        obs[3 + FW_LANES + lane] = FW_LANE_SPEED[lane] / FW_MAX_SPEED;
    }
}

static void fw_new_game(Freeway* env) {
    for (int lane = 0; lane < FW_LANES; lane++) {
        env->car_x[lane] = env->random_start ? (float)rng_int(&env->rng, FW_SCREEN_W)
                                             : (float)((lane * 37) % FW_SCREEN_W);
    }
    env->chicken_y = FW_START_Y;
    env->stun = env->last_action = env->frame = env->score = env->hits = env->best_lane = 0;
    env->episode_return = 0.0f;
    fw_write_obs(env);
}

// Is the chicken touching the car of `lane`?
static inline int fw_touches(const Freeway* env, int lane) {
    float top = fw_car_top(lane), dx = fw_car_offset(env, lane);
    int y = env->chicken_y;
    return dx > -FW_CAR_W && dx < FW_CHICKEN_W && (float)y < top + FW_CAR_H && (float)(y + FW_CHICKEN_H) > top;
}

// Lanes the chicken has climbed past: 0 on the sidewalk, 10 with its top edge over the top of the road.
static inline int fw_lanes_climbed(int y) {
    int climbed = (FW_START_Y - y) / FW_LANE_H;
    return climbed < FW_LANES ? climbed : FW_LANES;
}

// One frame; returns the points scored (0 or 1).
static int fw_frame(Freeway* env, int action) {
    for (int lane = 0; lane < FW_LANES; lane++) {
        float x = env->car_x[lane] + FW_LANE_SPEED[lane];
        env->car_x[lane] = x >= FW_SCREEN_W ? x - FW_SCREEN_W : x < 0.0f ? x + FW_SCREEN_W : x;
    }
    int point = 0;
    if (env->stun > 0) {
        env->stun--;
        env->chicken_y += FW_KNOCK_PIXELS;
        if (env->chicken_y > FW_START_Y) env->chicken_y = FW_START_Y;
    } else {
        static const int moves[FW_NUM_ACTIONS] = {0, -1, 1};
        env->chicken_y += moves[action];
        if (env->chicken_y > FW_START_Y) env->chicken_y = FW_START_Y;
        if (env->chicken_y <= FW_FINISH_Y) {
            point = 1;
            env->chicken_y = FW_START_Y;
            env->best_lane = 0;
        }
        // Only the lanes the chicken overlaps can touch it: the ones holding its top and bottom rows.
        int low = fw_lane_of(env->chicken_y + FW_CHICKEN_H - 1), high = fw_lane_of(env->chicken_y);
        int hit = (low >= 0 && fw_touches(env, low)) || (high >= 0 && fw_touches(env, high));
        if (hit) {
            env->stun = FW_STUN_FRAMES;
            env->hits++;
        }
    }
    env->frame++;
    return point;
}

void c_step(Freeway* env) {
    int points = 0, new_lanes = 0;
    for (int f = 0; f < env->frameskip && env->frame < env->game_frames; f++) {
        int action = sticky_action(&env->rng, env->actions[0], &env->last_action, env->repeat_action_probability);
        points += fw_frame(env, action);
        int climbed = fw_lanes_climbed(env->chicken_y);
        if (climbed > env->best_lane) {
            new_lanes += climbed - env->best_lane;
            env->best_lane = climbed;
        }
    }
    env->score += points;
    int over = env->frame >= env->game_frames;
    float reward = (float)points + env->reward_progress * (float)new_lanes;
    env->episode_return += reward;
    puffer_write_step(env, reward, over, 0);
    if (over) {
        puffer_log_episode(env, env->score, env->episode_return,
                           (env->game_frames + env->frameskip - 1) / env->frameskip);
        env->log.hits += (float)env->hits;
        fw_new_game(env);
    } else {
        fw_write_obs(env);
    }
}

static const Color FW_CAR_COLORS[FW_LANES] = {
    {120, 200, 255}, {200, 90, 200}, {90, 200, 90}, {220, 120, 60}, {80, 120, 230},
    {220, 60, 60}, {240, 200, 120}, {60, 200, 200}, {170, 90, 220}, {160, 160, 160}};

void c_render(Freeway* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, (Color){170, 170, 170});                                       // sidewalks
    draw_rect(canvas, 0, FW_ROAD_TOP, FW_SCREEN_W, FW_ROAD_BOTTOM - FW_ROAD_TOP, (Color){80, 80, 80});
    for (int lane = 1; lane < FW_LANES; lane++) {
        int y = FW_ROAD_BOTTOM - lane * FW_LANE_H;
        Color mark = lane == FW_LANES / 2 ? COLOR_YELLOW : COLOR_WHITE;
        for (int x = 0; x < FW_SCREEN_W; x += lane == FW_LANES / 2 ? 1 : 8) draw_rect(canvas, x, y, 4, 1, mark);
    }
    for (int lane = 0; lane < FW_LANES; lane++) {
        int x = (int)env->car_x[lane], top = (int)fw_car_top(lane);
        draw_rect(canvas, x, top, FW_CAR_W, FW_CAR_H, FW_CAR_COLORS[lane]);
        draw_rect(canvas, x - FW_SCREEN_W, top, FW_CAR_W, FW_CAR_H, FW_CAR_COLORS[lane]);   // wrapping
    }
    Color chicken = env->stun > 0 ? COLOR_RED : COLOR_YELLOW;
    draw_rect(canvas, FW_CHICKEN_X, env->chicken_y, FW_CHICKEN_W, FW_CHICKEN_H, chicken);
    draw_textf(canvas, 20, 4, 3, COLOR_ORANGE, "%d", env->score);
    int left = (env->game_frames - env->frame) * (FW_SCREEN_W - 80) / env->game_frames;
    draw_rect(canvas, 70, 8, left, 6, COLOR_BLUE);   // time left
}

// Text picture: one line per lane, top lane first, 2 pixels a character: '=' the car, 'C' the chicken.
int c_render_text(Freeway* env, char* buffer, int size) {
    int length = 0;
    text_append(buffer, size, &length, "score %d  hits %d  frame %d/%d\n", env->score, env->hits, env->frame,
                env->game_frames);
    int chicken_lane = fw_lane_of(env->chicken_y + FW_CHICKEN_H / 2);
    for (int lane = FW_LANES - 1; lane >= -1; lane--) {
        char line[FW_SCREEN_W / 2 + 1];
        memset(line, lane < 0 ? '_' : '.', FW_SCREEN_W / 2);
        line[FW_SCREEN_W / 2] = '\0';
        if (lane >= 0)
            for (int px = 0; px < FW_CAR_W; px += 2) line[(((int)env->car_x[lane] + px) % FW_SCREEN_W) / 2] = '=';
        if (lane == chicken_lane) line[FW_CHICKEN_X / 2] = 'C';
        text_append(buffer, size, &length, "%s\n", line);
    }
    return length;
}

PUFFER_PLAIN_LIFECYCLE(Freeway, fw_new_game)
