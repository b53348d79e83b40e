#pragma once
// Everything a C++ application needs: #include <blasnet/blasnet.hpp>.

#include "blasnet/activations.hpp"
#include "blasnet/blas.hpp"
#include "blasnet/gemm_timer.hpp"
#include "blasnet/graph.hpp"
#include "blasnet/graph_plan.hpp"
#include "blasnet/graph_spec.hpp"
#include "blasnet/initializers.hpp"
#include "blasnet/layer.hpp"
#include "blasnet/losses.hpp"
#include "blasnet/matrix.hpp"
#include "blasnet/network.hpp"
#include "blasnet/optimizers.hpp"
#include "blasnet/random.hpp"
#include "blasnet/training.hpp"
