"""Golden cases whose legacy result depends on an accidental option-name collision.

The legacy parser matches option names as substrings, so a few spellings also
fire another option.  nanobrag matches names exactly and does not reproduce
those collisions (specs/cli.md, "Deliberate differences"), so for the cases
below ``Config.from_args`` describes what the command line says, not what the
legacy program computed: an engine compared with these golden images must
skip them, with the reason given here.  tests/flags/test_flags_golden.py checks that
exactly these cases are affected.

Usage in an engine test::

    from parser_collisions import PARSER_COLLISION_CASES
    if name in PARSER_COLLISION_CASES:
        pytest.skip(PARSER_COLLISION_CASES[name])
"""

PARSER_COLLISION_CASES = {
    "quirk_misset_seed_after_random": (
        "legacy parser collision: '-misset_seed 42' also fired '-misset', setting the misset angles to "
        "(42, atof('-default_F') = 0, 100) degrees and cancelling the earlier '-misset random'; "
        "nanobrag keeps the random misset drawn from seed 42"
    ),
    "quirk_twotheta_axis_after_twotheta": (
        "legacy parser collision: '-twotheta_axis 0 0 -1' also fired '-twotheta', resetting the two-theta "
        "angle to atof('0') = 0 degrees after '-twotheta 18'; nanobrag keeps two-theta = 18 degrees"
    ),
}
