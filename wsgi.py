from integrity import create_app

app = create_app()
