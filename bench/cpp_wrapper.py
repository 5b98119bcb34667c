"""Compiled training with inductor's C++ wrapper and with its Python one, taking turns at epochs in one run.

    python -m bench.cpp_wrapper [--env puffer_breakout] [--seconds 60]

Two trainers with the env's config (compiled) and seed, one with the C++ wrapper the trainer uses on the CPU and
one with inductor's default Python wrapper, alternate whole epochs as in `bench.ab`. The kernels are the same, so
the two must stay bit-identical: the bench fails if any epoch's losses differ. Prints SPS both ways and the ratio.
"""
import argparse

from bench import ab


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--env', default='puffer_breakout', help='an env name')
    parser.add_argument('--seconds', type=float, default=60, help='how long to alternate, after warm-up')
    args = parser.parse_args()
    compiled = {'train.compile': 'True'}
    sps, ms, epochs, identical = ab.run_both(args.env, {'Python wrapper': (compiled, False),
                                                        'C++ wrapper': (compiled, True)}, args.seconds)
    ab.report(args.env, sps, ms, epochs, identical)
    if not identical:
        raise SystemExit('the two wrappers gave different losses: they should run the same kernels')


if __name__ == '__main__':
    main()
