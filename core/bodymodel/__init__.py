"""The user's SMPL-family body-model files: finding them (``files``), reading them into checked
arrays without chumpy (``reader``), and turning them into ``smplx`` layers (``smplx_layer``), for the
renderer, the MANO head and the SMPL evaluation protocol alike."""
