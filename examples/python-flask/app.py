"""The blog's Flask app: one route that answers after 2 seconds."""
import time
import flask

app = flask.Flask(__name__)


@app.route("/")
def index():
    time.sleep(2)
    return "ok\n"
