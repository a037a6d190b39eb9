"""A minimal FastAPI app for the fastapi-framework profile: one route on /."""
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def root():
    return {"message": "Hello from a FastAPI rock!"}
