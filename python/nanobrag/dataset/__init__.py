"""Datasets: many shots from one description, on one machine or a dask cluster.

A TOML description (:func:`load_spec`) names the base simulation (legacy
``nanobrag`` flags), the number of shots, a seed and what varies from shot to
shot.  Every shot is a pure function of (description, shot index)
(:func:`shot_config`, :func:`shot_command`), so :func:`run` gives the same
bytes whatever the number of workers, their order or retries, and a killed
run resumes where it stopped.  See docs/datasets.md.
"""
import hdf5plugin  # noqa: F401  (registers the bitshuffle-LZ4 filter the chunk files use)

from .spec import DatasetSpec, SpecError, Vary, load_spec, spec_from_dict
from .variation import (ShotParameters, shot_args, shot_command, shot_config, shot_parameters, source_file_text,
                        source_rows)
from .manifest import Chunk, DescriptionChanged, OutputFolder, plan_chunks
from .output import read_ground_truth
from .execute import RunReport, local_cluster_size, run
from .status import dataset_status

__all__ = [
    "DatasetSpec",
    "SpecError",
    "DescriptionChanged",
    "Vary",
    "load_spec",
    "spec_from_dict",
    "ShotParameters",
    "shot_parameters",
    "shot_args",
    "shot_config",
    "shot_command",
    "source_rows",
    "source_file_text",
    "Chunk",
    "plan_chunks",
    "OutputFolder",
    "read_ground_truth",
    "RunReport",
    "run",
    "local_cluster_size",
    "dataset_status",
]
