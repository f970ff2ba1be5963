"""The data contracts every part of croco-human shares, written once.

Conventions (axes, units, cameras, joint and part orders), the error types for bad inputs, the one
restricted unpickler, rotations and SMPL kinematics, camera maths, image, box and layout checks,
atomic file writes, typed configs, the take record and the shard reader, body-model file reading
and a lazy registry. It imports no other croco-human package, and no torch at import time, so
reading a shard or a benchmark stays light.
"""
