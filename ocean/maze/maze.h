// Maze: find the goal of a procedurally generated maze, seeing only a small crop around yourself, with keys that
// open doors of their colour on the way. A memory and exploration test bed in the spirit of MiniGrid's key-door
// mazes and Procgen's maze: every episode draws a new layout.
//
// The maze has size x size rooms on a (2 size + 1)^2 grid: rooms at odd coordinates, walls between them. A
// randomised depth-first search from the start room carves a perfect maze (one path between any two rooms); the
// goal is another random room. `keys` doors (distinct colours) are put on passages of the path from start to goal,
// and each door's key in the part of the maze reachable from the start through the doors before it, so every maze
// is solvable and every door must be opened. `loops` then opens that fraction of the remaining inner walls, but
// only walls whose two sides are already connected without passing a door (so doors stay necessary).
//
// The grid is stored with a `vision`-cell wall border, so the crop is a few row reads with no bounds checks.
#pragma once
#include <stdio.h>
#include <string.h>
#include "puffer.h"

enum { MAZE_EMPTY, MAZE_WALL, MAZE_GOAL, MAZE_KEY0, MAZE_KEY1, MAZE_KEY2, MAZE_DOOR0, MAZE_DOOR1, MAZE_DOOR2,
       MAZE_NUM_CODES };
#define MAZE_MAX_KEYS 3
#define MAZE_PLANES (MAZE_NUM_CODES - 1)   // one observation plane per non-empty code
#define MAZE_MAX_SIZE 31                   // rooms per side
#define MAZE_MAX_VISION 7
#define MAZE_MAX_GRID (2 * MAZE_MAX_SIZE + 1)
#define MAZE_MAX_STRIDE (MAZE_MAX_GRID + 2 * MAZE_MAX_VISION)
#define MAZE_MAX_CELLS (MAZE_MAX_STRIDE * MAZE_MAX_STRIDE)
#define MAZE_NUM_ACTIONS 4                 // 0 up, 1 down, 2 left, 3 right
#define FRAME_W 320
#define FRAME_H 320

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(keys_collected)   /* keys picked up per episode */ \
    X(doors_opened)     /* doors opened per episode */ \
    X(optimal_length)   /* steps of the shortest solution of the episode's maze (keys included) */
PUFFER_LOG(LOG_STATS)   // score: 1 if the goal was reached, else 0 (mean = success rate)

typedef struct {
    PUFFER_ENV_FIELDS
    // parameters
    int size;              // rooms per side
    int vision;            // crop radius: the agent sees (2 vision + 1)^2 cells centred on itself
    int keys;              // key-door pairs per maze (fewer when the path to the goal has fewer passages)
    float loops;           // fraction of the perfect maze's remaining inner walls opened
    int max_steps;
    float reward_goal;
    float reward_key;      // for picking up a key
    float step_cost;       // subtracted every step
    // derived by c_init
    int grid;              // 2 size + 1
    int stride;            // grid + 2 vision
    int offsets[MAZE_NUM_ACTIONS];
    // state
    unsigned char cells[MAZE_MAX_CELLS];   // padded grid of MAZE_* codes; the agent is not drawn in it
    int pos;               // agent cell
    int held;              // bit c: holds key c
    int steps;
    int keys_collected, doors_opened;
    int optimal;           // shortest solution length, for the log
    float episode_return;
    // scratch for generation (rewritten before being read)
    int stack[MAZE_MAX_CELLS];
    int dist[MAZE_MAX_CELLS];
    unsigned char mark[MAZE_MAX_CELLS];
} Maze;

static inline int maze_obs_size(const Maze* env) {
    int side = 2 * env->vision + 1;
    return MAZE_PLANES * side * side + MAZE_MAX_KEYS;
}

// Cell index of grid coordinates (x, y), 0 <= x, y < grid.
static inline int maze_cell(const Maze* env, int x, int y) {
    return (y + env->vision) * env->stride + x + env->vision;
}

static inline int maze_is_door(int code) { return code >= MAZE_DOOR0 && code <= MAZE_DOOR2; }
static inline int maze_is_key(int code) { return code >= MAZE_KEY0 && code <= MAZE_KEY2; }

// Writes the crop (one 0/1 plane per code: wall, goal, keys 0-2, doors 0-2; plane-major, rows top to bottom)
// and the held keys.
static void maze_write_obs(Maze* env) {
    int side = 2 * env->vision + 1, area = side * side;
    float* obs = env->observations;
    memset(obs, 0, sizeof(float) * (size_t)maze_obs_size(env));
    const unsigned char* corner = env->cells + env->pos - env->vision * env->stride - env->vision;
    for (int row = 0, i = 0; row < side; row++) {
        const unsigned char* line = corner + row * env->stride;
        for (int col = 0; col < side; col++, i++) {
            int code = line[col];
            if (code) obs[(code - 1) * area + i] = 1.0f;
        }
    }
    float* held = obs + MAZE_PLANES * area;
    for (int c = 0; c < MAZE_MAX_KEYS; c++) held[c] = (float)((env->held >> c) & 1);
}

// Breadth-first distances from `from` over cells for which passable(code) holds, into env->dist (-1 unreached).
// `open_doors`: bit c lets door c be crossed. Returns the number of cells reached.
static int maze_bfs(Maze* env, int from, int open_doors) {
    int cells = env->stride * env->stride;
    for (int i = 0; i < cells; i++) env->dist[i] = -1;
    int head = 0, tail = 0;
    env->stack[tail++] = from;
    env->dist[from] = 0;
    while (head < tail) {
        int cell = env->stack[head++];
        for (int d = 0; d < MAZE_NUM_ACTIONS; d++) {
            int next = cell + env->offsets[d];
            int code = env->cells[next];
            if (env->dist[next] >= 0 || code == MAZE_WALL) continue;
            if (maze_is_door(code) && !((open_doors >> (code - MAZE_DOOR0)) & 1)) continue;
            env->dist[next] = env->dist[cell] + 1;
            env->stack[tail++] = next;
        }
    }
    return tail;
}

// A uniformly random room cell reached by the last maze_bfs that holds nothing and is not `avoid`; -1 if none.
static int maze_random_reached_room(Maze* env, int avoid) {
    int chosen = -1, seen = 0;
    for (int y = 1; y < env->grid; y += 2) {
        for (int x = 1; x < env->grid; x += 2) {
            int cell = maze_cell(env, x, y);
            if (env->dist[cell] < 0 || cell == avoid || env->cells[cell] != MAZE_EMPTY) continue;
            if (rng_int(&env->rng, ++seen) == 0) chosen = cell;   // reservoir sampling
        }
    }
    return chosen;
}

static void maze_generate(Maze* env) {
    int g = env->grid, n = env->size;
    memset(env->cells, MAZE_WALL, (size_t)env->stride * env->stride);
    memset(env->mark, 0, (size_t)env->stride * env->stride);
    for (int y = 1; y < g; y += 2)
        for (int x = 1; x < g; x += 2) env->cells[maze_cell(env, x, y)] = MAZE_EMPTY;
    // Randomised depth-first search over rooms; mark = 1 + the direction back to the parent room.
    int start = maze_cell(env, 1 + 2 * rng_int(&env->rng, n), 1 + 2 * rng_int(&env->rng, n));
    int top = 0;
    env->stack[top++] = start;
    env->mark[start] = MAZE_NUM_ACTIONS + 1;   // the root: visited, no parent
    while (top > 0) {
        int room = env->stack[top - 1];
        int choices[MAZE_NUM_ACTIONS], count = 0;
        for (int d = 0; d < MAZE_NUM_ACTIONS; d++) {
            int next = room + 2 * env->offsets[d];
            if (env->cells[room + env->offsets[d]] == MAZE_WALL && env->cells[next] == MAZE_EMPTY && !env->mark[next])
                choices[count++] = d;
        }
        if (count == 0) {
            top--;
            continue;
        }
        int d = choices[rng_int(&env->rng, count)];
        int next = room + 2 * env->offsets[d];
        env->cells[room + env->offsets[d]] = MAZE_EMPTY;
        env->mark[next] = (unsigned char)(1 + (d ^ 1));   // directions pair up: 0/1 and 2/3 are opposite
        env->stack[top++] = next;
    }
    // The goal: a random other room. Its path to the start follows the parent directions.
    int goal;
    do {
        goal = maze_cell(env, 1 + 2 * rng_int(&env->rng, n), 1 + 2 * rng_int(&env->rng, n));
    } while (goal == start);
    int passages[MAZE_MAX_GRID * MAZE_MAX_GRID / 2], length = 0;
    for (int room = goal; room != start;) {
        int back = env->offsets[env->mark[room] - 1];
        passages[length++] = room + back;   // from the goal backwards
        room += 2 * back;
    }
    // Doors on distinct passages of that path, numbered from the start; colours in a random order.
    int doors = env->keys < length ? env->keys : length;
    int chosen[MAZE_MAX_KEYS], colour[MAZE_MAX_KEYS] = {0, 1, 2};
    for (int c = 0; c < doors; c++) {
        int pick, fresh;
        do {
            pick = rng_int(&env->rng, length);
            fresh = 1;
            for (int j = 0; j < c; j++) fresh &= chosen[j] != pick;
        } while (!fresh);
        chosen[c] = pick;
    }
    for (int c = 0; c < doors; c++)   // sort by distance from the start: descending index along goal -> start
        for (int j = c + 1; j < doors; j++)
            if (chosen[j] > chosen[c]) { int t = chosen[c]; chosen[c] = chosen[j]; chosen[j] = t; }
    for (int c = doors - 1; c > 0; c--) {
        int j = rng_int(&env->rng, c + 1), t = colour[c];
        colour[c] = colour[j];
        colour[j] = t;
    }
    for (int c = 0; c < doors; c++) env->cells[passages[chosen[c]]] = (unsigned char)(MAZE_DOOR0 + colour[c]);
    env->cells[goal] = MAZE_GOAL;
    // Key of the c-th door: somewhere reachable through doors 0 .. c-1 (their colours open).
    env->held = 0;
    int key_cells[MAZE_MAX_KEYS], open = 0;
    for (int c = 0; c < doors; c++) {
        maze_bfs(env, start, open);
        key_cells[c] = maze_random_reached_room(env, start);
        if (key_cells[c] >= 0) env->cells[key_cells[c]] = (unsigned char)(MAZE_KEY0 + colour[c]);
        else env->held |= 1 << colour[c];   // nowhere to put it: it starts in hand
        open |= 1 << colour[c];
    }
    // Loops: open inner walls between cells that connect without crossing a door. mark = region (1 + door count
    // before it along from the start), found by flooding with every door shut.
    if (env->loops > 0.0f) {
        int cells = env->stride * env->stride;
        memset(env->mark, 0, (size_t)cells);
        int region = 0;
        for (int y = 1; y < g; y += 2) {
            for (int x = 1; x < g; x += 2) {
                int room = maze_cell(env, x, y);
                if (env->mark[room]) continue;
                region++;
                maze_bfs(env, room, 0);
                for (int i = 0; i < cells; i++)
                    if (env->dist[i] >= 0) env->mark[i] = (unsigned char)region;
            }
        }
        for (int y = 1; y < g - 1; y++) {
            for (int x = 1 + (y & 1); x < g - 1; x += 2) {   // inner walls: exactly one coordinate even
                int cell = maze_cell(env, x, y);
                if (env->cells[cell] != MAZE_WALL) continue;
                int a = (y & 1) ? cell - 1 : cell - env->stride, b = (y & 1) ? cell + 1 : cell + env->stride;
                if (env->mark[a] == env->mark[b] && rng_float(&env->rng) < env->loops) {
                    env->cells[cell] = MAZE_EMPTY;
                    env->mark[cell] = env->mark[a];
                }
            }
        }
    }
    // Shortest solution: the best order of picking up the keys on the map (each leg may cross the doors whose
    // keys are in hand; every door is on the way, so every key is needed), then the goal.
    static const int orders[6][MAZE_MAX_KEYS] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    int placed[MAZE_MAX_KEYS], placed_colour[MAZE_MAX_KEYS], m = 0;
    for (int c = 0; c < doors; c++) {
        if (key_cells[c] >= 0) {
            placed[m] = key_cells[c];
            placed_colour[m++] = colour[c];
        }
    }
    env->optimal = MAZE_MAX_CELLS;
    for (int o = 0; o < 6; o++) {
        int valid = 1;
        for (int j = 0; j < m; j++) valid &= orders[o][j] < m;
        if (!valid) continue;
        int total = 0, from = start, held = env->held;
        for (int j = 0; j < m && total >= 0; j++) {
            maze_bfs(env, from, held);
            int d = env->dist[placed[orders[o][j]]];
            total = d < 0 ? -1 : total + d;
            from = placed[orders[o][j]];
            held |= 1 << placed_colour[orders[o][j]];
        }
        if (total < 0) continue;
        maze_bfs(env, from, held);
        if (env->dist[goal] >= 0 && total + env->dist[goal] < env->optimal) env->optimal = total + env->dist[goal];
    }
    env->pos = start;
}

// Zero the episode's counters and write the first observation of the maze in env->cells.
static void maze_begin(Maze* env) {
    env->steps = env->keys_collected = env->doors_opened = 0;
    env->episode_return = 0.0f;
    maze_write_obs(env);
}

static void maze_new_episode(Maze* env) {
    maze_generate(env);
    maze_begin(env);
}

int c_init(Maze* env) {
    env->grid = 2 * env->size + 1;
    env->stride = env->grid + 2 * env->vision;
    env->offsets[0] = -env->stride;
    env->offsets[1] = env->stride;
    env->offsets[2] = -1;
    env->offsets[3] = 1;
    return 0;
}

void c_reset(Maze* env) {
    maze_new_episode(env);   // the binding has cleared rewards, terminals and truncations
}

void c_step(Maze* env) {
    int target = env->pos + env->offsets[env->actions[0]];
    int code = env->cells[target];
    float reward = -env->step_cost;
    int goal = code == MAZE_GOAL;
    if (maze_is_key(code)) {
        env->held |= 1 << (code - MAZE_KEY0);
        env->keys_collected++;
        reward += env->reward_key;
        env->cells[target] = MAZE_EMPTY;
    } else if (maze_is_door(code) && ((env->held >> (code - MAZE_DOOR0)) & 1)) {
        env->doors_opened++;
        env->cells[target] = MAZE_EMPTY;
    }
    code = env->cells[target];
    if (code == MAZE_EMPTY) env->pos = target;   // walls and locked doors block; the goal ends the episode
    reward += goal ? env->reward_goal : 0.0f;
    env->steps++;
    env->episode_return += reward;
    int truncated = !goal && env->steps >= env->max_steps;
    puffer_write_step(env, reward, goal, truncated);
    if (goal || truncated) {
        puffer_log_episode(env, goal, env->episode_return, env->steps);
        env->log.keys_collected += (float)env->keys_collected;
        env->log.doors_opened += (float)env->doors_opened;
        env->log.optimal_length += (float)env->optimal;
        maze_new_episode(env);
    } else {
        maze_write_obs(env);
    }
}

static const Color MAZE_KEY_COLORS[MAZE_MAX_KEYS] = {{230, 60, 60}, {60, 110, 230}, {240, 210, 60}};

void c_render(Maze* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BACKGROUND);
    int px = FRAME_W / env->grid, margin = (FRAME_W - px * env->grid) / 2;
    int ax = env->pos % env->stride - env->vision, ay = env->pos / env->stride - env->vision;
    for (int y = 0; y < env->grid; y++) {
        for (int x = 0; x < env->grid; x++) {
            int code = env->cells[maze_cell(env, x, y)];
            int left = margin + x * px, top = margin + y * px;
            int seen = abs(x - ax) <= env->vision && abs(y - ay) <= env->vision;
            if (code == MAZE_WALL) draw_rect(canvas, left, top, px, px, seen ? COLOR_WHITE : COLOR_GRAY);
            else if (seen) draw_rect(canvas, left, top, px, px, (Color){30, 60, 60});
            if (code == MAZE_GOAL) draw_rect(canvas, left + 1, top + 1, px - 2, px - 2, COLOR_GREEN);
            if (maze_is_key(code))
                draw_circle(canvas, left + px / 2, top + px / 2, px / 3, MAZE_KEY_COLORS[code - MAZE_KEY0]);
            if (maze_is_door(code)) draw_rect(canvas, left, top, px, px, MAZE_KEY_COLORS[code - MAZE_DOOR0]);
        }
    }
    draw_circle(canvas, margin + ax * px + px / 2, margin + ay * px + px / 2, px / 2 - 1, COLOR_ORANGE);
    for (int c = 0; c < MAZE_MAX_KEYS; c++)
        if ((env->held >> c) & 1) draw_circle(canvas, 8 + 12 * c, FRAME_H - 8, 4, MAZE_KEY_COLORS[c]);
}

// Text picture: '#' wall, '.' floor, 'G' goal, 'a'-'c' keys, 'A'-'C' their doors, '@' the agent.
int c_render_text(Maze* env, char* buffer, int size) {
    static const char glyphs[MAZE_NUM_CODES] = {'.', '#', 'G', 'a', 'b', 'c', 'A', 'B', 'C'};
    int length = 0;
    char line[MAZE_MAX_GRID + 1];
    for (int y = 0; y < env->grid; y++) {
        for (int x = 0; x < env->grid; x++) {
            int cell = maze_cell(env, x, y);
            line[x] = cell == env->pos ? '@' : glyphs[env->cells[cell]];
        }
        line[env->grid] = '\0';
        text_append(buffer, size, &length, "%s\n", line);
    }
    text_append(buffer, size, &length, "held %s%s%s step %d\n", env->held & 1 ? "a" : "", env->held & 2 ? "b" : "",
                env->held & 4 ? "c" : "", env->steps);
    return length;
}

void c_close(Maze* env) {
    (void)env;
}
