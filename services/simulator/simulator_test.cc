#include <gtest/gtest.h>
#include "services/simulator/simulator.h"
TEST(Simulator, Builds) {}
