// Status: one pointer, null for OK; copies are deep, moves take the error and leave OK behind.
#include "include/edgeopt/status.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace edgeopt {
namespace {

TEST(Status, OkHasNoMessage) {
  const Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.code(), StatusCode::kOk);
  EXPECT_EQ(ok.message(), "");
  EXPECT_EQ(ok.ToString(), "ok");
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_TRUE(Status(StatusCode::kOk, "ignored").ok());  // an OK code carries no message
  EXPECT_EQ(sizeof(Status), sizeof(void*));
}

TEST(Status, ErrorsCopyMoveAndPrefix) {
  Status e = MakeStatus(StatusCode::kInvalidModel, "tensor %d: bad shape", 3);
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.code(), StatusCode::kInvalidModel);
  EXPECT_EQ(e.message(), "tensor 3: bad shape");
  EXPECT_EQ(e.ToString(), "invalid model: tensor 3: bad shape");

  Status copy = e;  // deep: the two live apart
  EXPECT_EQ(copy.message(), e.message());
  copy = copy.WithPrefix("node 1");
  EXPECT_EQ(copy.message(), "node 1: tensor 3: bad shape");
  EXPECT_EQ(e.message(), "tensor 3: bad shape");
  EXPECT_EQ(Status::Ok().WithPrefix("x").ToString(), "ok");

  Status moved = std::move(copy);
  EXPECT_EQ(moved.code(), StatusCode::kInvalidModel);
  EXPECT_TRUE(copy.ok());  // NOLINT(bugprone-use-after-move): moved-from is OK by contract

  Status assigned;
  assigned = moved;  // copy assignment
  EXPECT_EQ(assigned.message(), moved.message());
  assigned = assigned;  // NOLINT: self-assignment keeps the error
  EXPECT_EQ(assigned.code(), StatusCode::kInvalidModel);
  assigned = Status::Ok();  // move assignment of OK frees the error
  EXPECT_TRUE(assigned.ok());

  std::vector<Status> many(3, e);  // copies in containers
  many.push_back(Status(StatusCode::kNotFound, "f"));
  EXPECT_EQ(many[1].message(), "tensor 3: bad shape");
  EXPECT_EQ(many[3].code(), StatusCode::kNotFound);

  StatusOr<int> value(7), error(Status(StatusCode::kIoError, "disk"));
  EXPECT_TRUE(value.ok());
  EXPECT_EQ(*value, 7);
  EXPECT_EQ(error.status().ToString(), "I/O error: disk");
}

}  // namespace
}  // namespace edgeopt
