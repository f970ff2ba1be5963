"""Body models behind one interface (``base.Body``): anny by default, SMPL family via smplx."""
