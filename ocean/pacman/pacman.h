// Pac-Man on the arcade maze (28 x 31 tiles): 240 pellets, 4 power pellets and four ghosts, each with its own
// chase target. Everything moves tile by tile: one step moves Pac-Man one tile; ghosts move at a fraction of his
// speed through a sixteenths-of-a-tile accumulator (15/16 normally, 10/16 frightened, 8/16 in the side tunnels and
// inside the ghost house, 32/16 as eyes), which keeps the arcade's speed ratios without sub-tile positions.
//
// Ghost rules, as the arcade's are publicly described:
// - At every tile a ghost picks the next one among the open neighbours, never reversing, that lies closest (straight
//   line) to its target tile; ties go up, left, down, right. It may not turn up at the four tiles above the ghost
//   house and above Pac-Man's start while chasing or scattering.
// - Chase targets: Blinky Pac-Man's tile; Pinky 4 tiles ahead of Pac-Man; Inky the tile 2 ahead of Pac-Man,
//   reflected through Blinky (2 * ahead - Blinky); Clyde Pac-Man's tile when more than 8 tiles away, else his
//   scatter corner. Scatter targets are fixed corners outside the maze. Eyes head for the tile above the door.
// - Scatter and chase alternate on a per-level schedule (scatter 7 s, chase 20 s, ...; chase for good after the
//   fourth scatter); every switch reverses the ghosts outside the house. The schedule pauses while ghosts are
//   frightened.
// - A power pellet frightens the ghosts outside the house for a time that shrinks with the level (none from
//   level 17 on except a few): they reverse at once, pick random turns and can be eaten for 200, 400, 800 and 1600
//   points; an eaten ghost's eyes return to the house, and the ghost comes back out.
// - Blinky starts outside; Pinky, Inky and Clyde leave the house in that order when their pellet counters reach
//   the level's limit (Inky 30 and Clyde 60 pellets on level 1), when Pac-Man eats nothing for 4 s, and after a
//   lost life at 7, 17 and 32 pellets of a shared counter. Blinky speeds up to Pac-Man's speed with 20 pellets left
//   and beyond it with 10 ("Cruise Elroy"), and then chases even in scatter phases.
// Not modelled: fruit, the sub-tile cornering advantage, Pinky's and Inky's upward-overflow target offset.
//
// Times are in steps at 7.5 steps per second (Pac-Man's arcade speed on level 1, 7.5 tiles per second).
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "puffer.h"

#define PACMAN_W 28
#define PACMAN_H 31
#define PACMAN_CELLS (PACMAN_W * PACMAN_H)
#define PACMAN_GHOSTS 4
#define PACMAN_PELLETS 244           // 240 pellets + 4 power pellets
#define PACMAN_MAX_LIVES 6           // lives parameter up to 5, plus the extra life at 10,000 points
#define PACMAN_EXTRA_LIFE 10000
#define PACMAN_HEADER 34             // observation: Pac-Man, ghosts, timers, lives, pellets left
#define PACMAN_BLOCK 4               // coarse pellet map: 4 x 4 tile blocks
#define PACMAN_BLOCKS_X 7
#define PACMAN_BLOCKS_Y 8
#define PACMAN_BLOCKS (PACMAN_BLOCKS_X * PACMAN_BLOCKS_Y)
#define PACMAN_LOCAL 3               // compact observation: walls and pellets within 3 tiles (7 x 7)
#define PACMAN_MAX_FRIGHT 45
#define PACMAN_TILE_PIXELS 8
#define PACMAN_HUD 16
#define FRAME_W (PACMAN_W * PACMAN_TILE_PIXELS)
#define FRAME_H (PACMAN_H * PACMAN_TILE_PIXELS + PACMAN_HUD)

enum { TILE_OPEN, TILE_WALL, TILE_DOOR, TILE_HOUSE };
enum { DIR_UP, DIR_LEFT, DIR_DOWN, DIR_RIGHT };                 // the arcade's tie-break order
enum { GHOST_HOUSE, GHOST_LEAVING, GHOST_ACTIVE, GHOST_EYES, GHOST_ENTERING, GHOST_NUM_STATES };
enum { BLINKY, PINKY, INKY, CLYDE };

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(levels)    /* boards cleared */ \
    X(ghosts)    /* ghosts eaten */ \
    X(pellets)   /* pellets and power pellets eaten */
PUFFER_LOG(LOG_STATS)   // score: the game's points (10 a pellet, 50 a power pellet, 200-1600 a ghost)

// '#' wall, 'X' outside the maze (wall), '.' pellet, 'o' power pellet, ' ' open, '-' ghost house door, 'H' inside.
static const char PACMAN_MAZE[PACMAN_H][PACMAN_W + 1] = {
    "############################", "#............##............#", "#.####.#####.##.#####.####.#",
    "#o####.#####.##.#####.####o#", "#.####.#####.##.#####.####.#", "#..........................#",
    "#.####.##.########.##.####.#", "#.####.##.########.##.####.#", "#......##....##....##......#",
    "######.##### ## #####.######", "XXXXX#.##### ## #####.#XXXXX", "XXXXX#.##          ##.#XXXXX",
    "XXXXX#.## ###--### ##.#XXXXX", "######.## #HHHHHH# ##.######", "      .   #HHHHHH#   .      ",
    "######.## #HHHHHH# ##.######", "XXXXX#.## ######## ##.#XXXXX", "XXXXX#.##          ##.#XXXXX",
    "XXXXX#.## ######## ##.#XXXXX", "######.## ######## ##.######", "#............##............#",
    "#.####.#####.##.#####.####.#", "#.####.#####.##.#####.####.#", "#o..##.......  .......##..o#",
    "###.##.##.########.##.##.###", "###.##.##.########.##.##.###", "#......##....##....##......#",
    "#.##########.##.##########.#", "#.##########.##.##########.#", "#..........................#",
    "############################"};

static const int PACMAN_DX[4] = {0, -1, 0, 1};
static const int PACMAN_DY[4] = {-1, 0, 1, 0};
#define PACMAN_TUNNEL_ROW 14
#define PACMAN_DOOR_X 13
#define PACMAN_DOOR_Y 12
#define PACMAN_EXIT_Y 11             // the tile above the door, where ghosts leave and eyes return
#define PACMAN_HOUSE_Y 14
#define PACMAN_START_X 13
#define PACMAN_START_Y 23
static const int PACMAN_GHOST_START_X[PACMAN_GHOSTS] = {13, 13, 12, 15};
static const int PACMAN_GHOST_START_Y[PACMAN_GHOSTS] = {11, 14, 14, 14};
static const int PACMAN_SCATTER_X[PACMAN_GHOSTS] = {25, 2, 27, 0};
static const int PACMAN_SCATTER_Y[PACMAN_GHOSTS] = {-3, -3, 32, 32};
// Scatter/chase phase lengths in steps (even phases scatter); the last chase lasts for good (-1).
static const int PACMAN_PHASES[3][8] = {
    {52, 150, 52, 150, 38, 150, 38, -1},        // level 1
    {52, 150, 52, 150, 38, 7747, 1, -1},        // levels 2-4
    {38, 150, 38, 150, 38, 7777, 1, -1}};       // level 5 on
static const int PACMAN_FRIGHT[19] = {45, 38, 30, 23, 15, 38, 15, 15, 8, 38, 15, 8, 8, 23, 8, 8, 0, 8, 0};

typedef struct {
    PUFFER_ENV_FIELDS
    // parameters
    int crop;                 // 0: compact observation; r > 0: a (2r+1)^2 crop of four planes around Pac-Man
    int lives;                // lives at the start of a game
    int max_steps;
    float reward_scale;       // reward per point
    float reward_death;       // added when a life is lost
    // derived by c_init
    unsigned char tiles[PACMAN_CELLS];
    // state
    unsigned char pellets[PACMAN_CELLS];      // 0 none, 1 pellet, 2 power pellet
    unsigned char block_pellets[PACMAN_BLOCKS];
    int pac_x, pac_y, pac_dir, intent;
    int ghost_x[PACMAN_GHOSTS], ghost_y[PACMAN_GHOSTS], ghost_dir[PACMAN_GHOSTS], ghost_state[PACMAN_GHOSTS];
    int ghost_acc[PACMAN_GHOSTS];             // sixteenths of a tile carried to the next step
    int ghost_frightened[PACMAN_GHOSTS];
    int ghost_reverse[PACMAN_GHOSTS];         // reverse at the next move
    int ghost_dots[PACMAN_GHOSTS];            // house release counters
    int pellets_left;
    int level;
    int lives_left;
    int score;
    int extra_life;           // the 10,000-point life was given
    int phase, phase_timer;   // scatter/chase phase index and steps spent in it
    int fright_timer;         // steps of frightened mode left
    int combo;                // ghosts eaten on the current power pellet
    int global_dots;          // shared release counter after a lost life, -1 when off
    int idle_timer;           // steps since Pac-Man last ate
    int steps;
    float episode_return;
    int ghosts_eaten, pellets_eaten, levels_cleared;
} Pacman;

static inline int pacman_obs_size(const Pacman* env) {
    int side = 2 * env->crop + 1;
    return env->crop == 0 ? PACMAN_HEADER + PACMAN_BLOCKS + 2 * (2 * PACMAN_LOCAL + 1) * (2 * PACMAN_LOCAL + 1)
                          : PACMAN_HEADER + 4 * side * side;
}

static inline int pacman_block(int x, int y) {
    return (y / PACMAN_BLOCK) * PACMAN_BLOCKS_X + x / PACMAN_BLOCK;
}

// The tile at (x, y), wrapping sideways (only the tunnel row is open at the edges); off the top or bottom is wall.
static inline int pacman_tile(const Pacman* env, int x, int y) {
    if (y < 0 || y >= PACMAN_H) return TILE_WALL;
    x = (x + PACMAN_W) % PACMAN_W;
    return env->tiles[y * PACMAN_W + x];
}

static inline int pacman_wrap(int x) {
    return (x + PACMAN_W) % PACMAN_W;
}

static inline int pacman_in_tunnel(int x, int y) {
    return y == PACMAN_TUNNEL_ROW && (x <= 5 || x >= PACMAN_W - 6);
}

static inline int pacman_phase_table(int level) {
    return level <= 1 ? 0 : level <= 4 ? 1 : 2;
}

static inline int pacman_fright_steps(int level) {
    return PACMAN_FRIGHT[level - 1 < 18 ? level - 1 : 18];
}

// Pellet counts at which Pinky, Inky and Clyde leave the house on this level.
static inline int pacman_dot_limit(int level, int ghost) {
    static const int limits[3][PACMAN_GHOSTS] = {{0, 0, 30, 60}, {0, 0, 0, 50}, {0, 0, 0, 0}};
    return limits[level <= 1 ? 0 : level == 2 ? 1 : 2][ghost];
}

static inline int pacman_chasing(const Pacman* env) {
    return env->phase & 1;
}

// The tile ghost g heads for now (for a ghost outside the house; scatter corners may lie off the maze).
static void pacman_target(const Pacman* env, int g, int* tx, int* ty) {
    int px = env->pac_x, py = env->pac_y, dx = PACMAN_DX[env->pac_dir], dy = PACMAN_DY[env->pac_dir];
    int elroy = g == BLINKY && env->pellets_left <= 20;
    if (env->ghost_state[g] == GHOST_EYES) {
        *tx = PACMAN_DOOR_X;
        *ty = PACMAN_EXIT_Y;
    } else if (!pacman_chasing(env) && !elroy) {
        *tx = PACMAN_SCATTER_X[g];
        *ty = PACMAN_SCATTER_Y[g];
    } else if (g == PINKY) {
        *tx = px + 4 * dx;
        *ty = py + 4 * dy;
    } else if (g == INKY) {
        *tx = 2 * (px + 2 * dx) - env->ghost_x[BLINKY];
        *ty = 2 * (py + 2 * dy) - env->ghost_y[BLINKY];
    } else if (g == CLYDE) {
        int ex = env->ghost_x[CLYDE] - px, ey = env->ghost_y[CLYDE] - py;
        int far = ex * ex + ey * ey > 64;
        *tx = far ? px : PACMAN_SCATTER_X[CLYDE];
        *ty = far ? py : PACMAN_SCATTER_Y[CLYDE];
    } else {
        *tx = px;
        *ty = py;
    }
}

// Sixteenths of a tile ghost g moves this step.
static int pacman_ghost_speed(const Pacman* env, int g) {
    int state = env->ghost_state[g];
    if (state == GHOST_EYES || state == GHOST_ENTERING) return 32;
    if (state != GHOST_ACTIVE || pacman_in_tunnel(env->ghost_x[g], env->ghost_y[g])) return 8;
    if (env->ghost_frightened[g]) return 10;
    if (g == BLINKY && env->pellets_left <= 10) return 17;
    if (g == BLINKY && env->pellets_left <= 20) return 16;
    return 15;
}

// Can an active ghost (or eyes) step from (x, y) in direction d? Not into walls, the door or the house; not up at
// the four no-up tiles unless frightened or eyes.
static inline int pacman_ghost_can(const Pacman* env, int g, int x, int y, int d) {
    if (pacman_tile(env, x + PACMAN_DX[d], y + PACMAN_DY[d]) != TILE_OPEN) return 0;
    if (d == DIR_UP && (y == 11 || y == 23) && (x == 12 || x == 15) && env->ghost_state[g] == GHOST_ACTIVE
            && !env->ghost_frightened[g])
        return 0;
    return 1;
}

// The direction an active ghost (or eyes) takes from its tile: reverse only when nothing else is open (the maze
// has no dead ends), -1 when boxed in.
static int pacman_ghost_choose(Pacman* env, int g) {
    int x = env->ghost_x[g], y = env->ghost_y[g], back = (env->ghost_dir[g] + 2) & 3;
    if (env->ghost_reverse[g]) {
        env->ghost_reverse[g] = 0;
        if (pacman_tile(env, x + PACMAN_DX[back], y + PACMAN_DY[back]) == TILE_OPEN) return back;
    }
    if (env->ghost_frightened[g] && env->ghost_state[g] == GHOST_ACTIVE) {
        int start = rng_int(&env->rng, 4);   // a random direction, else the next open one clockwise from it
        for (int k = 0; k < 4; k++) {
            int d = (start + k) & 3;
            if (d != back && pacman_ghost_can(env, g, x, y, d)) return d;
        }
        return pacman_tile(env, x + PACMAN_DX[back], y + PACMAN_DY[back]) == TILE_OPEN ? back : -1;
    }
    int tx, ty;
    pacman_target(env, g, &tx, &ty);
    int best = pacman_tile(env, x + PACMAN_DX[back], y + PACMAN_DY[back]) == TILE_OPEN ? back : -1;
    int best_distance = 1 << 30;
    for (int d = 0; d < 4; d++) {
        if (d == back || !pacman_ghost_can(env, g, x, y, d)) continue;
        int ex = x + PACMAN_DX[d] - tx, ey = y + PACMAN_DY[d] - ty;
        int distance = ex * ex + ey * ey;
        if (distance < best_distance) {
            best_distance = distance;
            best = d;
        }
    }
    return best;
}

// Move ghost g by one tile according to its state.
static void pacman_ghost_move(Pacman* env, int g) {
    int state = env->ghost_state[g];
    if (state == GHOST_LEAVING) {
        if (env->ghost_x[g] != PACMAN_DOOR_X) {
            env->ghost_dir[g] = env->ghost_x[g] < PACMAN_DOOR_X ? DIR_RIGHT : DIR_LEFT;
            env->ghost_x[g] += env->ghost_x[g] < PACMAN_DOOR_X ? 1 : -1;
        } else {
            env->ghost_dir[g] = DIR_UP;
            env->ghost_y[g]--;
            if (env->ghost_y[g] == PACMAN_EXIT_Y) {
                env->ghost_state[g] = GHOST_ACTIVE;
                env->ghost_dir[g] = DIR_LEFT;
                env->ghost_reverse[g] = 0;
            }
        }
        return;
    }
    if (state == GHOST_ENTERING) {
        env->ghost_dir[g] = DIR_DOWN;
        env->ghost_y[g]++;
        if (env->ghost_y[g] == PACMAN_HOUSE_Y) env->ghost_state[g] = GHOST_LEAVING;
        return;
    }
    int d = pacman_ghost_choose(env, g);
    if (d < 0) return;
    env->ghost_dir[g] = d;
    env->ghost_x[g] = pacman_wrap(env->ghost_x[g] + PACMAN_DX[d]);
    env->ghost_y[g] += PACMAN_DY[d];
    if (state == GHOST_EYES && env->ghost_x[g] == PACMAN_DOOR_X && env->ghost_y[g] == PACMAN_EXIT_Y)
        env->ghost_state[g] = GHOST_ENTERING;
}

// Reverse every ghost outside the house at its next move (a phase switch or a power pellet).
static void pacman_reverse_all(Pacman* env) {
    for (int g = 0; g < PACMAN_GHOSTS; g++)
        if (env->ghost_state[g] == GHOST_ACTIVE) env->ghost_reverse[g] = 1;
}

static void pacman_place_actors(Pacman* env) {
    env->pac_x = PACMAN_START_X;
    env->pac_y = PACMAN_START_Y;
    env->pac_dir = env->intent = DIR_LEFT;
    for (int g = 0; g < PACMAN_GHOSTS; g++) {
        env->ghost_x[g] = PACMAN_GHOST_START_X[g];
        env->ghost_y[g] = PACMAN_GHOST_START_Y[g];
        env->ghost_dir[g] = g == BLINKY ? DIR_LEFT : DIR_UP;
        env->ghost_state[g] = g == BLINKY ? GHOST_ACTIVE : GHOST_HOUSE;
        env->ghost_acc[g] = 0;
        env->ghost_frightened[g] = 0;
        env->ghost_reverse[g] = 0;
    }
    env->phase = env->phase_timer = 0;
    env->fright_timer = 0;
    env->combo = 0;
    env->idle_timer = 0;
}

static void pacman_new_board(Pacman* env) {
    memset(env->block_pellets, 0, sizeof env->block_pellets);
    for (int y = 0; y < PACMAN_H; y++)
        for (int x = 0; x < PACMAN_W; x++) {
            char c = PACMAN_MAZE[y][x];
            int pellet = c == '.' ? 1 : c == 'o' ? 2 : 0;
            env->pellets[y * PACMAN_W + x] = (unsigned char)pellet;
            env->block_pellets[pacman_block(x, y)] += pellet != 0;
        }
    env->pellets_left = PACMAN_PELLETS;
    for (int g = 0; g < PACMAN_GHOSTS; g++) env->ghost_dots[g] = 0;
    env->global_dots = -1;
    pacman_place_actors(env);
}

static void pacman_new_game(Pacman* env) {
    env->level = 1;
    env->lives_left = env->lives;
    env->score = 0;
    env->extra_life = 0;
    env->steps = 0;
    env->episode_return = 0.0f;
    env->ghosts_eaten = env->pellets_eaten = env->levels_cleared = 0;
    pacman_new_board(env);
}

// ---------------------------------------------------------------------------------------------------------------
// Observation. Header (PACMAN_HEADER floats):
//   0 x / 27, 1 y / 30, 2-5 Pac-Man's heading one-hot (up, left, down, right),
//   6 + 6g: ghost g's (x - Pac-Man x) / 27, (y - Pac-Man y) / 30, then one-hot: dangerous (outside the house, not
//   frightened), frightened, eyes, in the house (waiting, leaving or entering),
//   30 frightened steps left / 45, 31 chase phase (1) or scatter (0), 32 lives / 6, 33 pellets left / 244.
// Compact (crop = 0): 56 pellets-per-block values (4 x 4 tile blocks, 7 wide, 8 high, each count / 16), then two
// 7 x 7 planes centred on Pac-Man: walls (1; door and house count as walls) and pellets (0.5, power 1).
// Crop (crop = r): four (2r+1)^2 planes centred on Pac-Man: walls, pellets, dangerous ghosts, frightened ghosts.
// Both views wrap sideways like the tunnel; rows above and below the maze are walls.

static void pacman_observe(Pacman* env) {
    float* obs = env->observations;
    int px = env->pac_x, py = env->pac_y;
    obs[0] = px * (1.0f / 27.0f);
    obs[1] = py * (1.0f / 30.0f);
    for (int d = 0; d < 4; d++) obs[2 + d] = (float)(env->pac_dir == d);
    for (int g = 0; g < PACMAN_GHOSTS; g++) {
        float* o = obs + 6 + 6 * g;
        int state = env->ghost_state[g];
        int frightened = state == GHOST_ACTIVE && env->ghost_frightened[g];
        o[0] = (env->ghost_x[g] - px) * (1.0f / 27.0f);
        o[1] = (env->ghost_y[g] - py) * (1.0f / 30.0f);
        o[2] = (float)(state == GHOST_ACTIVE && !frightened);
        o[3] = (float)frightened;
        o[4] = (float)(state == GHOST_EYES);
        o[5] = (float)(state == GHOST_HOUSE || state == GHOST_LEAVING || state == GHOST_ENTERING);
    }
    obs[30] = env->fright_timer * (1.0f / PACMAN_MAX_FRIGHT);
    obs[31] = (float)pacman_chasing(env);
    obs[32] = env->lives_left * (1.0f / PACMAN_MAX_LIVES);
    obs[33] = env->pellets_left * (1.0f / PACMAN_PELLETS);
    float* out = obs + PACMAN_HEADER;
    int radius = env->crop ? env->crop : PACMAN_LOCAL, side = 2 * radius + 1, plane = side * side;
    if (!env->crop) {
        for (int b = 0; b < PACMAN_BLOCKS; b++) out[b] = env->block_pellets[b] * (1.0f / 16.0f);
        out += PACMAN_BLOCKS;
    }
    for (int row = 0; row < side; row++) {
        int y = py - radius + row;
        float* walls = out + row * side;
        float* food = walls + plane;
        if (y < 0 || y >= PACMAN_H) {
            for (int col = 0; col < side; col++) { walls[col] = 1.0f; food[col] = 0.0f; }
            continue;
        }
        int x = ((px - radius) % PACMAN_W + PACMAN_W) % PACMAN_W;
        const unsigned char* tiles = env->tiles + y * PACMAN_W;
        const unsigned char* pellets = env->pellets + y * PACMAN_W;
        for (int col = 0; col < side; col++) {
            walls[col] = (float)(tiles[x] != TILE_OPEN);
            food[col] = 0.5f * pellets[x];
            x = x + 1 == PACMAN_W ? 0 : x + 1;
        }
    }
    if (env->crop) {
        float* danger = out + 2 * plane;
        float* prey = out + 3 * plane;
        memset(danger, 0, 2 * (size_t)plane * sizeof(float));
        for (int g = 0; g < PACMAN_GHOSTS; g++) {
            if (env->ghost_state[g] != GHOST_ACTIVE) continue;
            int col = ((env->ghost_x[g] - px + radius) % PACMAN_W + PACMAN_W) % PACMAN_W;
            int row = env->ghost_y[g] - py + radius;
            if (row < 0 || row >= side || col >= side) continue;
            (env->ghost_frightened[g] ? prey : danger)[row * side + col] = 1.0f;
        }
    }
}

int c_init(Pacman* env) {
    for (int y = 0; y < PACMAN_H; y++)
        for (int x = 0; x < PACMAN_W; x++) {
            char c = PACMAN_MAZE[y][x];
            env->tiles[y * PACMAN_W + x] = (unsigned char)(c == '#' || c == 'X' ? TILE_WALL : c == '-' ? TILE_DOOR
                                                           : c == 'H' ? TILE_HOUSE : TILE_OPEN);
        }
    return 0;
}

void c_reset(Pacman* env) {
    pacman_new_game(env);
    env->rewards[0] = 0.0f;
    env->terminals[0] = 0;
    env->truncations[0] = 0;
    pacman_observe(env);
}

// The ghost that is next to leave the house, or -1.
static int pacman_preferred_ghost(const Pacman* env) {
    for (int g = PINKY; g < PACMAN_GHOSTS; g++)
        if (env->ghost_state[g] == GHOST_HOUSE) return g;
    return -1;
}

static void pacman_release_ghosts(Pacman* env) {
    static const int global_limits[PACMAN_GHOSTS] = {0, 7, 17, 32};
    int g = pacman_preferred_ghost(env);
    if (g < 0) {
        env->global_dots = -1;
        return;
    }
    int release = env->global_dots >= 0 ? env->global_dots >= global_limits[g]
                                         : env->ghost_dots[g] >= pacman_dot_limit(env->level, g);
    int idle_limit = env->level < 5 ? 30 : 22;
    if (env->idle_timer >= idle_limit) {
        release = 1;
        env->idle_timer = 0;
    }
    if (release) env->ghost_state[g] = GHOST_LEAVING;
}

// Pac-Man and ghost g share a tile: eat a frightened ghost (points) or lose a life (returns 1).
static int pacman_collide(Pacman* env, int g, int* points) {
    if (env->ghost_state[g] != GHOST_ACTIVE) return 0;
    if (env->ghost_frightened[g]) {
        *points += 200 << env->combo;
        env->combo += env->combo < 3;
        env->ghost_frightened[g] = 0;
        env->ghost_state[g] = GHOST_EYES;
        env->ghost_reverse[g] = 0;
        env->ghosts_eaten++;
        return 0;
    }
    return 1;
}

static void pacman_end_episode(Pacman* env) {
    env->log.score += (float)env->score;
    env->log.episode_return += env->episode_return;
    env->log.episode_length += (float)env->steps;
    env->log.levels += (float)env->levels_cleared;
    env->log.ghosts += (float)env->ghosts_eaten;
    env->log.pellets += (float)env->pellets_eaten;
    env->log.n += 1.0f;
}

// Actions: 0 keep the last wish, 1 up, 2 down, 3 left, 4 right. Pac-Man turns as soon as the wished direction is
// open, otherwise keeps going until a wall stops him.
void c_step(Pacman* env) {
    static const int wish[5] = {-1, DIR_UP, DIR_DOWN, DIR_LEFT, DIR_RIGHT};
    int action = env->actions[0];
    env->intent = action == 0 ? env->intent : wish[action];
    env->steps++;
    int points = 0, died = 0;

    // Pac-Man
    int d = env->intent;
    if (pacman_tile(env, env->pac_x + PACMAN_DX[d], env->pac_y + PACMAN_DY[d]) != TILE_OPEN) d = env->pac_dir;
    if (pacman_tile(env, env->pac_x + PACMAN_DX[d], env->pac_y + PACMAN_DY[d]) == TILE_OPEN) {
        env->pac_dir = d;
        env->pac_x = pacman_wrap(env->pac_x + PACMAN_DX[d]);
        env->pac_y += PACMAN_DY[d];
    }
    int cell = env->pac_y * PACMAN_W + env->pac_x;
    int pellet = env->pellets[cell];
    env->idle_timer += env->idle_timer < 30;
    if (pellet) {
        env->pellets[cell] = 0;
        env->block_pellets[pacman_block(env->pac_x, env->pac_y)]--;
        env->pellets_left--;
        env->pellets_eaten++;
        env->idle_timer = 0;
        points += pellet == 1 ? 10 : 50;
        int g = pacman_preferred_ghost(env);
        if (env->global_dots >= 0) env->global_dots++;
        else if (g >= 0) env->ghost_dots[g]++;
        if (pellet == 2) {
            env->combo = 0;
            env->fright_timer = pacman_fright_steps(env->level);
            pacman_reverse_all(env);
            for (int k = 0; k < PACMAN_GHOSTS; k++)
                env->ghost_frightened[k] = env->fright_timer > 0 && env->ghost_state[k] == GHOST_ACTIVE;
        }
    }
    for (int g = 0; g < PACMAN_GHOSTS && !died; g++)
        if (env->ghost_x[g] == env->pac_x && env->ghost_y[g] == env->pac_y) died = pacman_collide(env, g, &points);

    // Timers: frightened mode, else the scatter/chase schedule.
    if (env->fright_timer > 0) {
        if (--env->fright_timer == 0)
            for (int g = 0; g < PACMAN_GHOSTS; g++) env->ghost_frightened[g] = 0;
    } else {
        int length = PACMAN_PHASES[pacman_phase_table(env->level)][env->phase];
        if (length > 0 && ++env->phase_timer >= length) {
            env->phase++;
            env->phase_timer = 0;
            pacman_reverse_all(env);
        }
    }

    // Ghosts
    if (!died) pacman_release_ghosts(env);
    for (int g = 0; g < PACMAN_GHOSTS && !died; g++) {
        if (env->ghost_state[g] == GHOST_HOUSE) continue;
        env->ghost_acc[g] += pacman_ghost_speed(env, g);
        while (env->ghost_acc[g] >= 16 && !died) {
            env->ghost_acc[g] -= 16;
            pacman_ghost_move(env, g);
            if (env->ghost_x[g] == env->pac_x && env->ghost_y[g] == env->pac_y)
                died = pacman_collide(env, g, &points);
        }
    }
    if (!env->extra_life && env->score + points >= PACMAN_EXTRA_LIFE) {
        env->extra_life = 1;
        env->lives_left += env->lives_left < PACMAN_MAX_LIVES;
    }
    env->score += points;
    float reward = points * env->reward_scale;
    int over = 0;
    if (died) {
        reward += env->reward_death;
        env->lives_left--;
        over = env->lives_left == 0;
        if (!over) {
            pacman_place_actors(env);
            env->global_dots = 0;
        }
    } else if (env->pellets_left == 0) {
        env->level++;
        env->levels_cleared++;
        pacman_new_board(env);
    }
    env->episode_return += reward;
    env->rewards[0] = reward;
    env->terminals[0] = (unsigned char)over;
    env->truncations[0] = (unsigned char)(!over && env->steps >= env->max_steps);
    if (over || env->truncations[0]) {
        pacman_end_episode(env);
        pacman_new_game(env);
    }
    pacman_observe(env);
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

static Color pacman_ghost_color(const Pacman* env, int g) {
    static const Color colors[PACMAN_GHOSTS] = {{255, 0, 0}, {255, 184, 255}, {0, 255, 255}, {255, 184, 82}};
    if (env->ghost_state[g] == GHOST_EYES || env->ghost_state[g] == GHOST_ENTERING) return COLOR_WHITE;
    if (env->ghost_state[g] == GHOST_ACTIVE && env->ghost_frightened[g])
        return env->fright_timer < 10 && (env->fright_timer & 2) ? COLOR_WHITE : (Color){33, 33, 222};
    return colors[g];
}

void c_render(Pacman* env, unsigned char* frame) {
    const int t = PACMAN_TILE_PIXELS;
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BLACK);
    for (int y = 0; y < PACMAN_H; y++)
        for (int x = 0; x < PACMAN_W; x++) {
            int cell = y * PACMAN_W + x, top = PACMAN_HUD + y * t;
            if (env->tiles[cell] == TILE_WALL && PACMAN_MAZE[y][x] == '#')
                draw_rect(canvas, x * t + 1, top + 1, t - 2, t - 2, (Color){33, 33, 200});
            else if (env->tiles[cell] == TILE_DOOR)
                draw_rect(canvas, x * t, top + t / 2 - 1, t, 2, (Color){255, 184, 222});
            if (env->pellets[cell] == 1) draw_rect(canvas, x * t + 3, top + 3, 2, 2, (Color){255, 184, 151});
            if (env->pellets[cell] == 2) draw_circle(canvas, x * t + 4, top + 4, 3, (Color){255, 184, 151});
        }
    for (int g = 0; g < PACMAN_GHOSTS; g++) {
        int cx = env->ghost_x[g] * t + t / 2, cy = PACMAN_HUD + env->ghost_y[g] * t + t / 2;
        int eyes = env->ghost_state[g] == GHOST_EYES || env->ghost_state[g] == GHOST_ENTERING;
        if (!eyes) draw_rect(canvas, cx - 4, cy - 4, 8, 8, pacman_ghost_color(env, g));
        draw_rect(canvas, cx - 3, cy - 2, 2, 2, COLOR_WHITE);
        draw_rect(canvas, cx + 1, cy - 2, 2, 2, COLOR_WHITE);
    }
    int cx = env->pac_x * t + t / 2, cy = PACMAN_HUD + env->pac_y * t + t / 2;
    draw_circle(canvas, cx, cy, 4, COLOR_YELLOW);
    // a mouth: a black wedge toward the heading
    for (int k = 1; k <= 4; k++)
        draw_pixel(canvas, cx + k * PACMAN_DX[env->pac_dir], cy + k * PACMAN_DY[env->pac_dir], COLOR_BLACK);
    char text[48];
    snprintf(text, sizeof text, "%d", env->score);
    draw_text(canvas, 4, 4, text, 2, COLOR_WHITE);
    snprintf(text, sizeof text, "L%d", env->level);
    draw_text(canvas, FRAME_W / 2 - 8, 4, text, 2, COLOR_WHITE);
    for (int l = 0; l < env->lives_left && l < PACMAN_MAX_LIVES; l++)
        draw_circle(canvas, FRAME_W - 8 - 12 * l, 8, 4, COLOR_YELLOW);
}

// Text picture: '#' wall, '.' pellet, 'o' power pellet, '-' door, 'C' Pac-Man, ghosts 'B' 'P' 'I' 'K' (Clyde),
// lower case when frightened, '"' for eyes; a status line under it.
int c_render_text(Pacman* env, char* buffer, int size) {
    static const char names[PACMAN_GHOSTS] = {'B', 'P', 'I', 'K'};
    int length = 0;
    for (int y = 0; y < PACMAN_H; y++) {
        char line[PACMAN_W + 1];
        for (int x = 0; x < PACMAN_W; x++) {
            int cell = y * PACMAN_W + x, tile = env->tiles[cell];
            line[x] = tile == TILE_WALL ? '#' : tile == TILE_DOOR ? '-' : env->pellets[cell] == 1 ? '.'
                      : env->pellets[cell] == 2 ? 'o' : ' ';
        }
        for (int g = 0; g < PACMAN_GHOSTS; g++)
            if (env->ghost_y[g] == y) {
                int eyes = env->ghost_state[g] == GHOST_EYES || env->ghost_state[g] == GHOST_ENTERING;
                int scared = env->ghost_state[g] == GHOST_ACTIVE && env->ghost_frightened[g];
                line[env->ghost_x[g]] = eyes ? '"' : scared ? (char)(names[g] - 'A' + 'a') : names[g];
            }
        if (env->pac_y == y) line[env->pac_x] = 'C';
        line[PACMAN_W] = '\0';
        text_append(buffer, size, &length, "%s\n", line);
    }
    text_append(buffer, size, &length, "score %d lives %d level %d pellets %d %s%s\n", env->score, env->lives_left,
                env->level, env->pellets_left, pacman_chasing(env) ? "chase" : "scatter",
                env->fright_timer > 0 ? " frightened" : "");
    return length;
}

void c_close(Pacman* env) {
    (void)env;
}
