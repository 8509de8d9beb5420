"""gi-app: the Gradio page, its request logic, model choice and examples."""
