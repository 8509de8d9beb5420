"""Small utilities: image files, visualisation, the file layer."""
