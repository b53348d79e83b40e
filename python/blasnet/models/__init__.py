"""The models: each a network held as the core's graph (model.py), presented as a graph of
named inputs and outputs, a stack of layers, a recurrent net unrolled over time, or Rosenblatt's
perceptron. They import nothing of the modules that train them over MPI, export or load them."""

from .graph import Graph, GraphNode, Node
from .model import FitOptions, Model
from .perceptron import Perceptron
from .rnn import RNN
from .sequential import Layer, Sequential

__all__ = ["FitOptions", "Graph", "GraphNode", "Layer", "Model", "Node", "Perceptron", "RNN",
           "Sequential"]
