"""Where `puffer eval` sends RGB frames: a pygame window, or an MP4 / GIF file written through imageio.

Both take uint8 frames [height, width, 3] one at a time, so memory stays flat however long an evaluation runs
(except GIF: Pillow assembles the whole animation at the end, so keep GIFs short and use MP4 for long recordings).
"""
import os

import numpy as np

from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

VIDEO_FORMATS = ('.mp4', '.gif')
INSTALL_HINT = 'pip install "pufferlib[eval]"'
# Small frames (a 128 x 128 sanity env) are scaled up by a whole factor until their long side reaches this.
MIN_WINDOW_SIDE = 512


def check_frame(frame):
    """`frame` as a uint8 [H, W, 3] array, or an APIUsageError saying what the env returned instead."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise APIUsageError(f'render() must return an RGB uint8 frame [height, width, 3], got dtype {frame.dtype} '
                            f'shape {frame.shape}')
    return frame


class Window:
    """A pygame window that shows one frame per `show` call, at most `fps` per second.

    `show` returns False once the window was closed (or Esc, or q unless a game uses it, pressed): the caller stops
    then. It also keeps the keyboard's state for a person playing (pufferlib.keyboard): `held`, the keys down in the
    order pressed, and `pressed`, the keys pressed since the previous `show` (a tap inside one frame still counts).
    Without a display SDL would silently draw into an invisible offscreen buffer; that is an error here unless
    SDL_VIDEODRIVER asks for such a driver on purpose (e.g. `dummy` in tests).
    """

    def __init__(self, title, fps):
        os.environ.setdefault('PYGAME_HIDE_SUPPORT_PROMPT', '1')
        try:
            import pygame
        except ImportError:
            raise EnvironmentSetupError(f'--render-mode human needs pygame: {INSTALL_HINT}') from None
        self.pygame = pygame
        try:
            pygame.display.init()
        except pygame.error as error:
            raise EnvironmentSetupError(f'cannot open a window ({error}); on a machine without a display use '
                                        '--render-mode rgb_array --save-video out.mp4') from None
        driver = pygame.display.get_driver()
        if driver in ('offscreen', 'dummy') and not os.environ.get('SDL_VIDEODRIVER'):
            pygame.display.quit()
            raise EnvironmentSetupError('no display to open a window on (DISPLAY / WAYLAND_DISPLAY unset); on a '
                                        'headless machine use --render-mode rgb_array --save-video out.mp4')
        pygame.display.set_caption(title)
        self.fps = fps
        self.clock = pygame.time.Clock()
        self.screen = None
        self.frame_shape = None
        self.is_open = True
        self.stop_keys = (pygame.K_ESCAPE, pygame.K_q)
        self.held, self.pressed = [], []

    def use_keys(self, codes):
        """Keys a person plays with (pygame key codes) stop nothing: q then plays, only Esc stops."""
        self.stop_keys = tuple(key for key in self.stop_keys if key not in codes)

    def show(self, frame):
        pygame = self.pygame
        self.pressed = []
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key in self.stop_keys):
                self.close()
            elif event.type == pygame.KEYDOWN:
                self.held = [key for key in self.held if key != event.key] + [event.key]
                self.pressed.append(event.key)
            elif event.type == pygame.KEYUP:
                self.held = [key for key in self.held if key != event.key]
            elif event.type == getattr(pygame, 'WINDOWFOCUSLOST', None):  # its key-up events go elsewhere
                self.held = []
        if not self.is_open:
            return False
        frame = check_frame(frame)
        if frame.shape != self.frame_shape:
            height, width = frame.shape[:2]
            scale = max(1, MIN_WINDOW_SIDE // max(height, width))
            self.screen = pygame.display.set_mode((width * scale, height * scale))
            self.frame_shape = frame.shape
        # surfarray indexes pixels [x, y]: the transpose of an image's [row, column].
        surface = pygame.surfarray.make_surface(frame.transpose(1, 0, 2))
        pygame.transform.scale(surface, self.screen.get_size(), self.screen)
        pygame.display.flip()
        self.clock.tick(self.fps)
        return True

    def close(self):
        if self.is_open:
            self.is_open = False
            self.pygame.display.quit()


def check_video_path(path):
    """The lower-case extension of a --save-video path, or an APIUsageError listing the formats."""
    extension = os.path.splitext(str(path))[1].lower()
    if extension not in VIDEO_FORMATS:
        raise APIUsageError(f'--save-video {path}: unknown video format {extension or "(no extension)"!r}; '
                            f'use a file ending in {" or ".join(VIDEO_FORMATS)}')
    return extension


class VideoWriter:
    """Frames to an .mp4 (H.264 by the ffmpeg binary that imageio-ffmpeg ships: no system ffmpeg, no display)
    or to a looping .gif, at `fps` frames per second."""

    def __init__(self, path, fps):
        self.path = str(path)
        self.extension = check_video_path(path)
        self.fps = fps
        try:
            import imageio.v2
            import imageio.v3
            if self.extension == '.mp4':
                import imageio_ffmpeg  # noqa: F401  (the ffmpeg binary imageio runs)
        except ImportError as error:
            raise EnvironmentSetupError(f'--save-video needs imageio and imageio-ffmpeg ({error}): {INSTALL_HINT}') \
                from None
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        if self.extension == '.mp4':
            # macro_block_size=1: keep the frame size as is (padded to even sides for yuv420p) instead of rescaling.
            self.writer = imageio.v2.get_writer(self.path, format='FFMPEG', mode='I', fps=fps, codec='libx264',
                                                pixelformat='yuv420p', macro_block_size=1, ffmpeg_log_level='error')
        else:
            self.writer = imageio.v3.imopen(self.path, 'w', plugin='pillow')
        self.frame_shape = None
        self.frames = 0

    def write(self, frame):
        frame = check_frame(frame)
        if self.frame_shape is None:
            self.frame_shape = frame.shape
        elif frame.shape != self.frame_shape:
            raise APIUsageError(f'the env drew a frame of shape {frame.shape} after frames of shape '
                                f'{self.frame_shape}; a video needs frames of one size')
        if self.extension == '.mp4':
            self.writer.append_data(pad_to_even(frame))
        else:
            # GIF frame times are whole hundredths of a second; loop=0 repeats forever.
            self.writer.write(frame, duration=round(1000 / self.fps), loop=0)
        self.frames += 1

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def pad_to_even(frame):
    """H.264 in yuv420p needs even sides: add a black row / column where one is odd."""
    height, width = frame.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)))
