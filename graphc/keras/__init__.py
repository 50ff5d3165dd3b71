"""graphc.keras: a Keras 3-style front end that builds and trains graphc graphs.

    from graphc import keras
    model = keras.Sequential([keras.Input((784,)),
                              keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, batch_size=128)
    print(model.train_function.source)   # the whole training step as numpy code

Modules, one job each: layers (base, core, merging), models (Sequential,
Model), trainer (compile, fit, evaluate, predict), losses, optimizers,
metrics, callbacks, progbar, initializers, activations, regularizers,
constraints, ops and random (Keras 3's op namespaces), registry (custom
objects by name), saving, utils.
"""
from graphc.keras import (activations, callbacks, constraints, initializers, layers, losses, metrics, models,
                          ops, optimizers, random, registry, regularizers, saving, utils)
from graphc.keras.layers import Input, InputLayer, Layer
from graphc.keras.models import Model, Sequential
from graphc.keras.registry import register_keras_serializable
from graphc.keras.saving import load_model

__all__ = ["activations", "callbacks", "constraints", "initializers", "layers", "losses", "metrics", "models", "ops",
           "optimizers", "random", "registry", "regularizers", "saving", "utils", "Input", "InputLayer", "Layer",
           "Model", "Sequential", "load_model", "register_keras_serializable"]
