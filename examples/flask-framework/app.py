"""A minimal Flask app for the flask-framework profile: one route on /."""
import flask

app = flask.Flask(__name__)


@app.route("/")
def index():
    return "Hello from a Flask rock!\n"
