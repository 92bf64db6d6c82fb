/* SPDX-License-Identifier: MIT */
#include <memenpsf/fdpass.h>
