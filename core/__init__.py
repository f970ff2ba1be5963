"""Code shared by the three packages, importing none of them: conventions, configs, errors."""
